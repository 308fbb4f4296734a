//! Authorization decisions: given who is asking (a [`Subject`]) and what they
//! want to do (an [`Action`]), [`decide`] answers allow or deny, with a reason
//! a person can read.
//!
//! **Architecture Invariant:** this crate is pure. It depends on `domain`
//! only; callers load the subject's memberships and the target's owner and
//! hand them in. Deny is the default: an action is allowed only by a rule
//! below that names it.

use gongshu_domain::{OrgKind, ResourceState, Role};

/// One role a user holds in one organization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    /// The organization.
    pub org_id: String,
    /// What kind of organization it is.
    pub org_kind: OrgKind,
    /// The role held there.
    pub role: Role,
}

/// Who is asking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// Nobody signed in: the public.
    Anonymous,
    /// A signed-in user.
    User {
        /// The user's id.
        user_id: String,
        /// Platform operators (系统管理员) may do everything.
        system_admin: bool,
        /// Roles held in organizations.
        memberships: Vec<Membership>,
    },
}

/// What the subject wants to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action<'a> {
    /// Create an organization.
    CreateOrganization,
    /// Add a harvest source and run harvests (区域协作).
    ManageHarvest,
    /// Create users in, or give roles in, this organization.
    ManageMembers {
        /// The organization.
        org_id: &'a str,
    },
    /// Create a catalog entry provided by this organization.
    CreateResource {
        /// The providing organization.
        provider_org_id: &'a str,
    },
    /// Edit a draft, submit it, withdraw it, or file a change, correction or
    /// cancellation registration for it.
    ManageResource {
        /// The providing organization.
        provider_org_id: &'a str,
    },
    /// Read a catalog entry and its history.
    ViewResource {
        /// The providing organization.
        provider_org_id: &'a str,
        /// Its state: published entries are public.
        state: ResourceState,
    },
    /// Accept, review, return, reject or code a registration; decide an
    /// objection or a 一数一源 flag; publish or unpublish an entry.
    Review,
    /// Object to a registration in publicity.
    Object,
    /// See everything, including pending work of every organization.
    ViewAll,
    /// Answer a public request (开放需求, 纠错) addressed to this
    /// organization, and see how to reach its requester.
    AnswerRequest {
        /// The organization it is addressed to.
        org_id: &'a str,
    },
    /// File, withdraw or escalate a sharing request (共享申请) on behalf of
    /// this organization.
    RequestSharing {
        /// The requesting organization.
        org_id: &'a str,
    },
    /// Approve or refuse a sharing request or a conditional-open
    /// application for this provider's resource.
    DecideAsProvider {
        /// The providing organization.
        provider_org_id: &'a str,
    },
    /// Apply for conditionally open data (有条件开放申请) on behalf of this
    /// enterprise or operator.
    ApplyForOpenData {
        /// The applying organization.
        org_id: &'a str,
    },
    /// Draft, submit or withdraw an authorized-operation plan, and select
    /// its operator, for this implementing body.
    DraftOperation {
        /// The implementing body.
        implementing_org_id: &'a str,
    },
    /// Approve, return or refuse an authorized-operation plan on the
    /// government's behalf.
    ApproveOperation,
    /// Sign an agreement on behalf of the organization that will hold its grant.
    SignAgreement {
        /// The applicant or operator.
        holder_org_id: &'a str,
    },
    /// Report use under an agreement, attest destruction, or withdraw an
    /// application, on behalf of its holder.
    ActUnderAgreement {
        /// The applicant or operator.
        holder_org_id: &'a str,
    },
    /// List what a department must provide (共享责任清单).
    ManageSharingDuties,
    /// Read the supervision console: usage over time, denials, alerts,
    /// freezes, deadlines (监测).
    Supervise,
    /// Freeze and release resources, grants and subjects, handle alerts
    /// and exempt grants from the public data tracker (应急处置).
    Intervene,
    /// Sign a ledger checkpoint now rather than on the schedule.
    IssueCheckpoint,
    /// Suspend, resume or revoke a grant (or suspend, resume or terminate
    /// the agreement that made it) given by this organization.
    ManageGrant {
        /// The organization that gave it.
        grantor_org_id: &'a str,
    },
    /// Register, edit and withdraw products under this operator's grants,
    /// price them, list and delist them and confirm its customers.
    ManageProducts {
        /// The operator.
        operator_org_id: &'a str,
    },
    /// Set the cap (上限收费标准) of products under this implementing
    /// body's grants.
    SetPriceCap {
        /// The implementing body.
        implementing_org_id: &'a str,
    },
    /// Set operators' maximum allowed revenue (最高准许收入).
    SetRevenueCeiling,
    /// Subscribe to products (and so commit to their fees) for this
    /// organization.
    SubscribeProducts {
        /// The customer.
        customer_org_id: &'a str,
    },
    /// Receive the products this organization subscribed to.
    UseProducts {
        /// The customer.
        customer_org_id: &'a str,
    },
    /// Read the metered statement between an operator and a customer.
    ViewStatement {
        /// The operator.
        operator_org_id: &'a str,
        /// The customer.
        customer_org_id: &'a str,
    },
    /// Publish this organization's yearly disclosure (信息披露).
    Disclose {
        /// The implementing body or operator.
        org_id: &'a str,
    },
    /// See a grant, a sharing request and their usage.
    ViewGrant {
        /// Who holds (or asks for) it.
        grantee_org_id: &'a str,
        /// Who gave (or is asked for) it.
        grantor_org_id: &'a str,
    },
}

/// The answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Go ahead.
    Allow,
    /// Not allowed, and why.
    Deny {
        /// Why, in English.
        reason_en: &'static str,
        /// Why, in Chinese.
        reason_zh: &'static str,
    },
}

impl Decision {
    /// Whether the action is allowed.
    pub fn is_allowed(&self) -> bool {
        matches!(self, Decision::Allow)
    }
}

const SIGN_IN: Decision = Decision::Deny {
    reason_en: "sign in first: this needs an API token",
    reason_zh: "请先登录：此操作需要 API 令牌",
};

/// Decides whether `subject` may perform `action`.
pub fn decide(subject: &Subject, action: Action<'_>) -> Decision {
    let Subject::User { system_admin, memberships, .. } = subject else {
        return match action {
            Action::ViewResource { state: ResourceState::Published, .. } => Decision::Allow,
            _ => SIGN_IN,
        };
    };
    if *system_admin {
        return Decision::Allow;
    }
    let holds =
        |org_id: &str, roles: &[Role]| memberships.iter().any(|m| m.org_id == org_id && roles.contains(&m.role));
    let in_bureau_as =
        |roles: &[Role]| memberships.iter().any(|m| m.org_kind == OrgKind::DataBureau && roles.contains(&m.role));
    let oversees = memberships.iter().any(|m| matches!(m.org_kind, OrgKind::DataBureau | OrgKind::Auditor));
    let allowed = match action {
        Action::CreateOrganization | Action::ManageHarvest => in_bureau_as(&[Role::Admin]),
        Action::ManageMembers { org_id } => holds(org_id, &[Role::Admin]) || in_bureau_as(&[Role::Admin]),
        Action::CreateResource { provider_org_id } | Action::ManageResource { provider_org_id } => {
            holds(provider_org_id, &[Role::Admin, Role::Cataloguer])
        }
        // Registered entries form the sharing catalog (共享目录) that every
        // department may consult, and implementing bodies plan operation from.
        Action::ViewResource { provider_org_id, state } => {
            state == ResourceState::Published
                || oversees
                || memberships.iter().any(|m| m.org_id == provider_org_id)
                || (state.is_registered()
                    && memberships
                        .iter()
                        .any(|m| matches!(m.org_kind, OrgKind::Department | OrgKind::ImplementingBody)))
        }
        Action::Review => in_bureau_as(&[Role::Reviewer]),
        Action::Object => true,
        Action::ViewAll => oversees,
        Action::AnswerRequest { org_id } => {
            holds(org_id, &[Role::Admin, Role::Cataloguer]) || in_bureau_as(&[Role::Reviewer])
        }
        // Not the bureau: it checks and coordinates requests, so it may not also file them.
        Action::RequestSharing { org_id } => memberships.iter().any(|m| {
            m.org_id == org_id && m.org_kind == OrgKind::Department && matches!(m.role, Role::Admin | Role::Cataloguer)
        }),
        Action::DecideAsProvider { provider_org_id } => holds(provider_org_id, &[Role::Admin, Role::Cataloguer]),
        Action::ApplyForOpenData { org_id } => memberships.iter().any(|m| {
            m.org_id == org_id
                && matches!(m.org_kind, OrgKind::Enterprise | OrgKind::Operator)
                && matches!(m.role, Role::Admin | Role::Cataloguer)
        }),
        Action::DraftOperation { implementing_org_id } => memberships.iter().any(|m| {
            m.org_id == implementing_org_id
                && m.org_kind == OrgKind::ImplementingBody
                && matches!(m.role, Role::Admin | Role::Cataloguer)
        }),
        Action::ApproveOperation => in_bureau_as(&[Role::Admin]),
        Action::ManageSharingDuties => in_bureau_as(&[Role::Admin, Role::Reviewer]),
        Action::Supervise => oversees,
        Action::Intervene => in_bureau_as(&[Role::Admin, Role::Reviewer]),
        Action::IssueCheckpoint => oversees,
        Action::SignAgreement { holder_org_id } => holds(holder_org_id, &[Role::Admin]),
        Action::ActUnderAgreement { holder_org_id } => holds(holder_org_id, &[Role::Admin, Role::Cataloguer]),
        Action::ManageGrant { grantor_org_id } => {
            holds(grantor_org_id, &[Role::Admin]) || in_bureau_as(&[Role::Reviewer, Role::Admin])
        }
        Action::ManageProducts { operator_org_id } => memberships.iter().any(|m| {
            m.org_id == operator_org_id
                && m.org_kind == OrgKind::Operator
                && matches!(m.role, Role::Admin | Role::Cataloguer)
        }),
        Action::SetPriceCap { implementing_org_id } => memberships.iter().any(|m| {
            m.org_id == implementing_org_id
                && m.org_kind == OrgKind::ImplementingBody
                && matches!(m.role, Role::Admin | Role::Cataloguer)
        }),
        Action::SetRevenueCeiling => in_bureau_as(&[Role::Admin]),
        Action::SubscribeProducts { customer_org_id } => holds(customer_org_id, &[Role::Admin, Role::Cataloguer]),
        Action::UseProducts { customer_org_id } => memberships.iter().any(|m| m.org_id == customer_org_id),
        Action::ViewStatement { operator_org_id, customer_org_id } => {
            oversees || memberships.iter().any(|m| m.org_id == operator_org_id || m.org_id == customer_org_id)
        }
        Action::Disclose { org_id } => holds(org_id, &[Role::Admin]),
        Action::ViewGrant { grantee_org_id, grantor_org_id } => {
            oversees || memberships.iter().any(|m| m.org_id == grantee_org_id || m.org_id == grantor_org_id)
        }
    };
    if allowed {
        return Decision::Allow;
    }
    match action {
        Action::CreateOrganization => Decision::Deny {
            reason_en: "only an administrator of the data bureau may create organizations",
            reason_zh: "只有数据管理机构的管理员可以创建组织",
        },
        Action::ManageHarvest => Decision::Deny {
            reason_en: "only an administrator of the data bureau may add harvest sources or run harvests",
            reason_zh: "只有数据管理机构的管理员可以添加采集来源或执行采集",
        },
        Action::ManageMembers { .. } => Decision::Deny {
            reason_en: "only an administrator of this organization or of the data bureau may manage its members",
            reason_zh: "只有本组织或数据管理机构的管理员可以管理成员",
        },
        Action::CreateResource { .. } | Action::ManageResource { .. } => Decision::Deny {
            reason_en: "only cataloguers and administrators of the providing organization may manage its resources",
            reason_zh: "只有提供单位的编目员或管理员可以管理其数据资源",
        },
        Action::ViewResource { .. } | Action::ViewAll => Decision::Deny {
            reason_en: "this is visible only to its provider, the data bureau and auditors until it is published",
            reason_zh: "发布前仅提供单位、数据管理机构和审计机构可以查看",
        },
        Action::Review => Decision::Deny {
            reason_en: "only reviewers of the data bureau may do this",
            reason_zh: "只有数据管理机构的审核员可以执行此操作",
        },
        Action::Object => SIGN_IN,
        Action::AnswerRequest { .. } => Decision::Deny {
            reason_en: "only cataloguers and administrators of the organization asked, or reviewers of the data bureau, may answer",
            reason_zh: "只有被诉求单位的编目员、管理员或数据管理机构的审核员可以答复",
        },
        Action::RequestSharing { .. } => Decision::Deny {
            reason_en: "only cataloguers and administrators of a government department may file sharing requests for it",
            reason_zh: "只有政务部门的编目员或管理员可以代表本部门提出共享申请",
        },
        Action::DecideAsProvider { .. } => Decision::Deny {
            reason_en: "only cataloguers and administrators of the providing department may decide on requests for its data",
            reason_zh: "只有数据提供部门的编目员或管理员可以审核其数据的申请",
        },
        Action::ApplyForOpenData { .. } => Decision::Deny {
            reason_en: "only cataloguers and administrators of an enterprise or operator may apply for conditionally open data for it",
            reason_zh: "只有企业或运营机构的编目员、管理员可以代表本单位申请有条件开放数据",
        },
        Action::DraftOperation { .. } => Decision::Deny {
            reason_en: "only cataloguers and administrators of the implementing body may draft its operation plans",
            reason_zh: "只有实施机构的编目员或管理员可以编制授权运营方案",
        },
        Action::ApproveOperation => Decision::Deny {
            reason_en: "only an administrator of the data bureau may approve an authorized-operation plan",
            reason_zh: "只有数据管理机构的管理员可以审批授权运营方案",
        },
        Action::ManageSharingDuties => Decision::Deny {
            reason_en: "only reviewers and administrators of the data bureau may maintain the sharing responsibility list",
            reason_zh: "只有数据管理机构的审核员或管理员可以维护共享责任清单",
        },
        Action::Supervise => Decision::Deny {
            reason_en: "only the data bureau and auditors may read the supervision console",
            reason_zh: "只有数据管理机构和审计机构可以查看监管台",
        },
        Action::Intervene => Decision::Deny {
            reason_en: "only reviewers and administrators of the data bureau may freeze, release or handle alerts",
            reason_zh: "只有数据管理机构的审核员或管理员可以冻结、解除冻结或处置预警",
        },
        Action::IssueCheckpoint => Decision::Deny {
            reason_en: "only the data bureau and auditors may ask for a checkpoint",
            reason_zh: "只有数据管理机构和审计机构可以要求签发检查点",
        },
        Action::SignAgreement { .. } => Decision::Deny {
            reason_en: "only an administrator of the applicant or operator may sign its agreement",
            reason_zh: "只有申请单位或运营机构的管理员可以签署协议",
        },
        Action::ActUnderAgreement { .. } => Decision::Deny {
            reason_en: "only cataloguers and administrators of the agreement's holder may do this",
            reason_zh: "只有协议持有单位的编目员或管理员可以执行此操作",
        },
        Action::ManageGrant { .. } => Decision::Deny {
            reason_en: "only an administrator of the granting organization, or the data bureau, may change a grant",
            reason_zh: "只有授权单位的管理员或数据管理机构可以变更授权",
        },
        Action::ManageProducts { .. } => Decision::Deny {
            reason_en: "only cataloguers and administrators of the operator may manage its products and prices",
            reason_zh: "只有运营机构的编目员或管理员可以管理其产品和服务及收费标准",
        },
        Action::SetPriceCap { .. } => Decision::Deny {
            reason_en: "only cataloguers and administrators of the implementing body that made the grant may set its caps",
            reason_zh: "只有作出授权的实施机构的编目员或管理员可以制定上限收费标准",
        },
        Action::SetRevenueCeiling => Decision::Deny {
            reason_en: "only an administrator of the data bureau may set an operator's maximum allowed revenue",
            reason_zh: "只有数据管理机构的管理员可以核定运营机构的最高准许收入",
        },
        Action::SubscribeProducts { .. } => Decision::Deny {
            reason_en: "only cataloguers and administrators of the customer organization may subscribe for it",
            reason_zh: "只有客户单位的编目员或管理员可以代表本单位订购产品",
        },
        Action::UseProducts { .. } => Decision::Deny {
            reason_en: "only members of the customer organization may receive its products",
            reason_zh: "只有客户单位的成员可以使用本单位订购的产品",
        },
        Action::ViewStatement { .. } => Decision::Deny {
            reason_en: "only the operator, the customer, the data bureau and auditors may read a statement",
            reason_zh: "仅运营机构、客户单位、数据管理机构和审计机构可以查看计量账单",
        },
        Action::Disclose { .. } => Decision::Deny {
            reason_en: "only an administrator of the disclosing organization may publish its disclosure",
            reason_zh: "只有披露单位的管理员可以发布其信息披露报告",
        },
        Action::ViewGrant { .. } => Decision::Deny {
            reason_en: "only the organizations party to a grant, the data bureau and auditors may see it",
            reason_zh: "仅授权双方、数据管理机构和审计机构可以查看",
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(memberships: &[(&str, OrgKind, Role)]) -> Subject {
        Subject::User {
            user_id: "u".into(),
            system_admin: false,
            memberships: memberships
                .iter()
                .map(|(org, kind, role)| Membership { org_id: (*org).into(), org_kind: *kind, role: *role })
                .collect(),
        }
    }

    #[test]
    fn departments_manage_only_their_own_resources() {
        let cataloguer = user(&[("mz", OrgKind::Department, Role::Cataloguer)]);
        assert!(decide(&cataloguer, Action::ManageResource { provider_org_id: "mz" }).is_allowed());
        assert!(!decide(&cataloguer, Action::ManageResource { provider_org_id: "tj" }).is_allowed());
        assert!(!decide(&cataloguer, Action::Review).is_allowed());
        let viewer = user(&[("mz", OrgKind::Department, Role::Viewer)]);
        assert!(!decide(&viewer, Action::ManageResource { provider_org_id: "mz" }).is_allowed());
    }

    #[test]
    fn requests_are_answered_by_their_department_or_the_bureau() {
        let answer = Action::AnswerRequest { org_id: "jt" };
        assert!(decide(&user(&[("jt", OrgKind::Department, Role::Cataloguer)]), answer).is_allowed());
        assert!(decide(&user(&[("sjj", OrgKind::DataBureau, Role::Reviewer)]), answer).is_allowed());
        assert!(!decide(&user(&[("mz", OrgKind::Department, Role::Admin)]), answer).is_allowed());
        assert!(!decide(&user(&[("jt", OrgKind::Department, Role::Viewer)]), answer).is_allowed());
        assert!(!decide(&Subject::Anonymous, answer).is_allowed());
    }

    #[test]
    fn departments_request_and_providers_decide_sharing() {
        let requester = user(&[("wj", OrgKind::Department, Role::Cataloguer)]);
        assert!(decide(&requester, Action::RequestSharing { org_id: "wj" }).is_allowed());
        assert!(!decide(&requester, Action::RequestSharing { org_id: "mz" }).is_allowed());
        let operator = user(&[("op", OrgKind::Operator, Role::Admin)]);
        assert!(!decide(&operator, Action::RequestSharing { org_id: "op" }).is_allowed());
        let bureau = user(&[("sjj", OrgKind::DataBureau, Role::Admin)]);
        assert!(
            !decide(&bureau, Action::RequestSharing { org_id: "sjj" }).is_allowed(),
            "the bureau checks, never files"
        );
        assert!(!decide(&requester, Action::DecideAsProvider { provider_org_id: "mz" }).is_allowed());
        let provider = user(&[("mz", OrgKind::Department, Role::Cataloguer)]);
        assert!(decide(&provider, Action::DecideAsProvider { provider_org_id: "mz" }).is_allowed());
        assert!(!decide(&provider, Action::ManageGrant { grantor_org_id: "mz" }).is_allowed());
        let grant = Action::ViewGrant { grantee_org_id: "wj", grantor_org_id: "mz" };
        assert!(decide(&requester, grant).is_allowed());
        assert!(!decide(&operator, grant).is_allowed());
        let registered = Action::ViewResource { provider_org_id: "mz", state: ResourceState::Registered };
        assert!(decide(&requester, registered).is_allowed());
        assert!(!decide(&operator, registered).is_allowed());
    }

    #[test]
    fn applicants_apply_implementing_bodies_draft_and_holders_sign() {
        let enterprise = user(&[("qy", OrgKind::Enterprise, Role::Cataloguer)]);
        assert!(decide(&enterprise, Action::ApplyForOpenData { org_id: "qy" }).is_allowed());
        assert!(!decide(&enterprise, Action::SignAgreement { holder_org_id: "qy" }).is_allowed(), "admins sign");
        assert!(decide(&enterprise, Action::ActUnderAgreement { holder_org_id: "qy" }).is_allowed());
        let department = user(&[("wj", OrgKind::Department, Role::Admin)]);
        assert!(
            !decide(&department, Action::ApplyForOpenData { org_id: "wj" }).is_allowed(),
            "departments use sharing"
        );
        let implementing = user(&[("ss", OrgKind::ImplementingBody, Role::Cataloguer)]);
        assert!(decide(&implementing, Action::DraftOperation { implementing_org_id: "ss" }).is_allowed());
        assert!(!decide(&implementing, Action::ApproveOperation).is_allowed());
        assert!(!decide(&department, Action::DraftOperation { implementing_org_id: "wj" }).is_allowed());
        assert!(decide(&user(&[("sjj", OrgKind::DataBureau, Role::Admin)]), Action::ApproveOperation).is_allowed());
        assert!(!decide(&user(&[("sjj", OrgKind::DataBureau, Role::Reviewer)]), Action::ApproveOperation).is_allowed());
        let operator = user(&[("op", OrgKind::Operator, Role::Admin)]);
        assert!(decide(&operator, Action::SignAgreement { holder_org_id: "op" }).is_allowed());
        assert!(!decide(&operator, Action::SignAgreement { holder_org_id: "qy" }).is_allowed());
    }

    #[test]
    fn only_bureau_reviewers_review() {
        let bureau_reviewer = user(&[("sjj", OrgKind::DataBureau, Role::Reviewer)]);
        assert!(decide(&bureau_reviewer, Action::Review).is_allowed());
        let department_reviewer = user(&[("mz", OrgKind::Department, Role::Reviewer)]);
        assert!(!decide(&department_reviewer, Action::Review).is_allowed());
        assert!(!decide(&bureau_reviewer, Action::ManageResource { provider_org_id: "mz" }).is_allowed());
    }

    #[test]
    fn the_public_sees_published_entries_only() {
        let published = Action::ViewResource { provider_org_id: "mz", state: ResourceState::Published };
        let draft = Action::ViewResource { provider_org_id: "mz", state: ResourceState::Draft };
        assert!(decide(&Subject::Anonymous, published).is_allowed());
        assert!(!decide(&Subject::Anonymous, draft).is_allowed());
        assert!(!decide(&Subject::Anonymous, Action::Object).is_allowed());
        let other_department = user(&[("tj", OrgKind::Department, Role::Admin)]);
        assert!(!decide(&other_department, draft).is_allowed());
        let auditor = user(&[("sj", OrgKind::Auditor, Role::Viewer)]);
        assert!(decide(&auditor, draft).is_allowed());
        assert!(!decide(&auditor, Action::Review).is_allowed());
    }
}
