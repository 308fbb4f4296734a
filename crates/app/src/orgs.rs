//! Organizations, users and their roles.

use gongshu_domain::error::{optional_text, required_text};
use gongshu_domain::{OrgCode, OrgKind, Organization, RegionCode, Role, User, ValidationError, Validations};
use gongshu_metadata::StoreError;
use gongshu_policy::{Action, Subject};

use crate::auth::hash_password;
use crate::{App, AppError, AppResult, Step, authorize, new_id};

/// A new organization, as typed by a person.
#[derive(Debug, Clone, Default)]
pub struct NewOrganization {
    /// 统一社会信用代码 (optional).
    pub code: Option<String>,
    /// Chinese name.
    pub name_zh: String,
    /// English name.
    pub name_en: Option<String>,
    /// Kind code, e.g. `department`.
    pub kind: String,
    /// GB/T 2260 division code.
    pub region: String,
    /// Parent organization id.
    pub parent_id: Option<String>,
}

/// A new user, as typed by a person.
#[derive(Debug, Clone, Default)]
pub struct NewUser {
    /// Sign-in name: 3–32 of a–z, 0–9, `.`, `_`, `-`.
    pub username: String,
    /// Name shown to people.
    pub display_name: String,
    /// Password (at least 10 characters); `None` for token-only accounts.
    pub password: Option<String>,
    /// Platform operator (only system administrators may create one).
    pub system_admin: bool,
    /// Roles to give, each in an organization: `(org_id, role code)`.
    pub roles: Vec<(String, String)>,
}

fn parse_username(value: &str) -> Result<String, ValidationError> {
    let username = value.trim().to_lowercase();
    let valid_chars = username.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || ".-_".contains(c));
    if !(3..=32).contains(&username.len()) || !valid_chars {
        return Err(ValidationError::new(
            "username",
            "must be 3–32 characters of a–z, 0–9, `.`, `_` or `-`",
            "应为 3–32 个字符，仅含小写字母、数字、`.`、`_` 或 `-`",
        ));
    }
    Ok(username)
}

impl App {
    /// Creates an organization.
    pub async fn create_organization(&self, subject: &Subject, new: NewOrganization) -> AppResult<Organization> {
        authorize(subject, Action::CreateOrganization)?;
        let mut problems = Validations::default();
        let code = new
            .code
            .as_deref()
            .filter(|c| !c.trim().is_empty())
            .and_then(|c| problems.check(OrgCode::parse("code", c)));
        let name_zh = problems.check(required_text("name_zh", &new.name_zh, 100));
        let name_en = problems.check(optional_text("name_en", new.name_en.as_deref(), 200)).flatten();
        let kind = problems.check(OrgKind::parse("kind", &new.kind).and_then(|kind| {
            if kind == OrgKind::Portal {
                // It stands for a harvest source and is created with it.
                return Err(ValidationError::new(
                    "kind",
                    "a portal organization is created by adding its harvest source",
                    "外部开放平台组织须通过添加采集来源创建",
                ));
            }
            Ok(kind)
        }));
        let region = problems.check(RegionCode::parse("region", &new.region));
        if !problems.is_empty() {
            return Err(problems.into());
        }
        let (Some(name_zh), Some(kind), Some(region)) = (name_zh, kind, region) else {
            unreachable!("every missing value recorded a problem");
        };
        let org = Organization {
            id: new_id(),
            code,
            name_zh,
            name_en,
            kind,
            region,
            parent_id: new.parent_id.filter(|p| !p.trim().is_empty()),
            created_at: self.clock.now(),
        };
        let mut tx = self.store.write().await?;
        if let Some(parent_id) = &org.parent_id {
            match tx.organization(parent_id).await {
                Ok(_) => {}
                Err(StoreError::NotFound { .. }) => {
                    return Err(ValidationError::new(
                        "parent_id",
                        format!("no organization has id `{parent_id}`"),
                        format!("不存在 id 为 `{parent_id}` 的组织"),
                    )
                    .into());
                }
                Err(other) => return Err(other.into()),
            }
        }
        tx.insert_organization(&org).await.map_err(|error| match error {
            StoreError::Duplicate(_) => AppError::conflict(
                format!("an organization named `{}` or with this code already exists", org.name_zh),
                format!("名称为“{}”或代码相同的组织已存在", org.name_zh),
            ),
            other => other.into(),
        })?;
        let step = Step {
            entity_kind: "organization",
            entity_id: &org.id,
            action: "create",
            from_state: None,
            to_state: Some(org.kind.code()),
            opinion: None,
        };
        self.record(&mut tx, subject, step).await?;
        tx.commit().await?;
        Ok(org)
    }

    /// Every organization (public: who provides data is public).
    pub async fn organizations(&self) -> AppResult<Vec<Organization>> {
        let mut tx = self.store.read().await?;
        Ok(tx.organizations().await?)
    }

    /// One organization.
    pub async fn organization(&self, id: &str) -> AppResult<Organization> {
        let mut tx = self.store.read().await?;
        Ok(tx.organization(id).await?)
    }

    /// Creates a user with roles in organizations. The caller must manage
    /// the members of every organization named.
    pub async fn create_user(&self, subject: &Subject, new: NewUser) -> AppResult<User> {
        let mut problems = Validations::default();
        let username = problems.check(parse_username(&new.username));
        let display_name = problems.check(required_text("display_name", &new.display_name, 100));
        let mut roles = Vec::new();
        for (i, (org_id, role)) in new.roles.iter().enumerate() {
            if let Some(role) = problems.check(Role::parse(&format!("roles[{i}].role"), role)) {
                roles.push((org_id.clone(), role));
            }
        }
        let password_hash = match new.password.as_deref() {
            Some(password) => problems.check(hash_password(password).map_err(|e| match e {
                AppError::Validation(mut v) => v.0.remove(0),
                other => ValidationError::new("password", other.to_string(), "密码无效"),
            })),
            None => None,
        };
        if !problems.is_empty() {
            return Err(problems.into());
        }
        if new.system_admin && !matches!(subject, Subject::User { system_admin: true, .. }) {
            return Err(AppError::Forbidden {
                en: "only system administrators may create system administrators",
                zh: "只有系统管理员可以创建系统管理员",
            });
        }
        if roles.is_empty() && !new.system_admin {
            return Err(
                ValidationError::new("roles", "give the user at least one role", "请至少为用户分配一个角色").into()
            );
        }
        for (org_id, _) in &roles {
            authorize(subject, Action::ManageMembers { org_id })?;
        }
        let (Some(username), Some(display_name)) = (username, display_name) else {
            unreachable!("every missing value recorded a problem");
        };
        let user = User {
            id: new_id(),
            username,
            display_name,
            password_hash,
            system_admin: new.system_admin,
            created_at: self.clock.now(),
        };
        let mut tx = self.store.write().await?;
        tx.insert_user(&user).await.map_err(|error| match error {
            StoreError::Duplicate(_) => AppError::conflict(
                format!("the user name `{}` is taken", user.username),
                format!("用户名 `{}` 已被占用", user.username),
            ),
            other => other.into(),
        })?;
        let step = Step {
            entity_kind: "user",
            entity_id: &user.id,
            action: "create",
            from_state: None,
            to_state: Some("active"),
            opinion: None,
        };
        self.record(&mut tx, subject, step).await?;
        for (org_id, role) in roles {
            self.grant_in(&mut tx, subject, &user.id, &org_id, role).await?;
        }
        tx.commit().await?;
        Ok(user)
    }

    /// Gives a user a role in an organization.
    pub async fn grant_role(&self, subject: &Subject, user_id: &str, org_id: &str, role: &str) -> AppResult<()> {
        let role = Role::parse("role", role)?;
        authorize(subject, Action::ManageMembers { org_id })?;
        let mut tx = self.store.write().await?;
        tx.user(user_id).await?;
        self.grant_in(&mut tx, subject, user_id, org_id, role).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn grant_in(
        &self,
        tx: &mut Box<dyn gongshu_metadata::Transaction>,
        subject: &Subject,
        user_id: &str,
        org_id: &str,
        role: Role,
    ) -> AppResult<()> {
        match tx.organization(org_id).await {
            Ok(_) => {}
            Err(StoreError::NotFound { .. }) => {
                return Err(ValidationError::new(
                    "roles.org_id",
                    format!("no organization has id `{org_id}`"),
                    format!("不存在 id 为 `{org_id}` 的组织"),
                )
                .into());
            }
            Err(other) => return Err(other.into()),
        }
        tx.insert_membership(user_id, org_id, role, self.clock.now()).await?;
        let to_state = format!("{}@{org_id}", role.code());
        let step = Step {
            entity_kind: "user",
            entity_id: user_id,
            action: "grant_role",
            from_state: None,
            to_state: Some(&to_state),
            opinion: None,
        };
        self.record(tx, subject, step).await
    }

    /// A user and the roles they hold.
    pub async fn user_with_roles(&self, user_id: &str) -> AppResult<(User, Vec<gongshu_domain::MembershipRecord>)> {
        let mut tx = self.store.read().await?;
        let user = tx.user(user_id).await?;
        let roles = tx.memberships(user_id).await?;
        Ok((user, roles))
    }

    /// A user by sign-in name.
    pub async fn user_by_username(&self, username: &str) -> AppResult<User> {
        let mut tx = self.store.read().await?;
        Ok(tx.user_by_username(username).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_normalised_and_checked() {
        assert_eq!(parse_username(" MZJ.editor ").unwrap(), "mzj.editor");
        assert!(parse_username("ab").is_err());
        assert!(parse_username("民政局").is_err());
    }
}
