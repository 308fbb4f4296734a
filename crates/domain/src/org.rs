//! Organizations and the roles people hold in them.

use crate::codes::code_enum;

code_enum! {
    /// What an organization is, which decides what its people may do.
    pub enum OrgKind {
        /// 数据管理机构: runs the instance, reviews and codes registrations.
        DataBureau = ("data_bureau", "数据管理机构"),
        /// 实施机构: organizes an authorized-operation grant.
        ImplementingBody = ("implementing_body", "实施机构"),
        /// 政务部门: holds and registers data.
        Department = ("department", "政务部门"),
        /// 运营机构: licensed operator.
        Operator = ("operator", "运营机构"),
        /// 企业: a company using data.
        Enterprise = ("enterprise", "企业"),
        /// 审计/评估机构: reads everything, changes nothing.
        Auditor = ("auditor", "审计评估机构"),
        /// 外部开放平台: another region's portal whose open catalog is
        /// harvested here; it has no members, so its entries are read-only.
        Portal = ("portal", "外部开放平台"),
    }
}

code_enum! {
    /// A role a user holds in one organization.
    pub enum Role {
        /// Manages the organization's people and tokens.
        Admin = ("admin", "管理员"),
        /// 编目员: drafts, edits and submits the organization's catalog entries.
        Cataloguer = ("cataloguer", "编目员"),
        /// 审核员: in the data bureau, reviews registrations and assigns codes.
        Reviewer = ("reviewer", "审核员"),
        /// Reads what the organization may read.
        Viewer = ("viewer", "查看者"),
    }
}
