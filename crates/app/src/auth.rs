//! Passwords and API tokens. Passwords are argon2 hashes. Tokens are 256
//! random bits shown once; only their SHA-256 is stored, which is enough for
//! a secret that is never chosen by a person.

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier, phc::PasswordHash};
use chrono::Duration;
use gongshu_domain::{ApiToken, ValidationError, error::required_text};
use gongshu_metadata::StoreError;
use gongshu_policy::{Membership, Subject};
use sha2::{Digest, Sha256};

use crate::{App, AppError, AppResult, Step, new_id};

/// Every token starts with this, so secret scanners and people recognise it.
const TOKEN_PREFIX: &str = "gs_";

/// What to call a new token and how long it lives.
#[derive(Debug, Clone)]
pub struct NewToken {
    /// A name its owner recognises, e.g. `ckanapi on laptop`.
    pub name: String,
    /// Days until it stops working; `None` for no expiry.
    pub expires_in_days: Option<u32>,
}

/// A token just created: the secret is here and nowhere else.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    /// The stored record.
    pub token: ApiToken,
    /// The token itself; show it once.
    pub secret: String,
}

pub(crate) fn hash_password(password: &str) -> AppResult<String> {
    if password.chars().count() < 10 {
        return Err(
            ValidationError::new("password", "must have at least 10 characters", "密码至少需要 10 个字符").into()
        );
    }
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|hash| hash.to_string())
        .map_err(|e| AppError::conflict(format!("cannot hash password: {e}"), "密码哈希失败"))
}

fn password_matches(password: &str, stored_hash: &str) -> bool {
    match PasswordHash::new(stored_hash) {
        Ok(hash) => Argon2::default().verify_password(password.as_bytes(), &hash).is_ok(),
        Err(_) => false,
    }
}

fn token_hash(secret: &str) -> String {
    let digest = Sha256::digest(secret.as_bytes());
    digest.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the operating system's random source works");
    let hex: String = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
    format!("{TOKEN_PREFIX}{hex}")
}

impl App {
    /// Resolves a bearer token to the subject it speaks for.
    pub async fn authenticate(&self, secret: &str) -> AppResult<Subject> {
        let mut tx = self.store.read().await?;
        let token = match tx.token_by_hash(&token_hash(secret.trim())).await {
            Ok(token) => token,
            Err(StoreError::NotFound { .. }) => {
                return Err(AppError::Unauthenticated("unknown API token"));
            }
            Err(other) => return Err(other.into()),
        };
        let now = self.clock.now();
        if token.revoked_at.is_some() {
            return Err(AppError::Unauthenticated("this API token was revoked"));
        }
        if token.expires_at.is_some_and(|expires_at| expires_at <= now) {
            return Err(AppError::Unauthenticated("this API token has expired"));
        }
        let user = tx.user(&token.user_id).await?;
        subject_for(&mut tx, user).await
    }

    /// The subject a user acts as, for the command line's `--as-user`.
    pub async fn subject_of(&self, username: &str) -> AppResult<Subject> {
        let mut tx = self.store.read().await?;
        let user = tx.user_by_username(username.trim()).await?;
        subject_for(&mut tx, user).await
    }

    /// Signs in with a password and issues a token.
    pub async fn login(&self, username: &str, password: &str, new_token: NewToken) -> AppResult<IssuedToken> {
        let user = {
            let mut tx = self.store.read().await?;
            match tx.user_by_username(username.trim()).await {
                Ok(user) => user,
                Err(StoreError::NotFound { .. }) => {
                    return Err(AppError::Unauthenticated("wrong user name or password"));
                }
                Err(other) => return Err(other.into()),
            }
        };
        let matches = user.password_hash.as_deref().is_some_and(|hash| password_matches(password, hash));
        if !matches {
            return Err(AppError::Unauthenticated("wrong user name or password"));
        }
        let subject = Subject::User { user_id: user.id.clone(), system_admin: user.system_admin, memberships: vec![] };
        self.issue_token(&subject, &user.id, new_token).await
    }

    /// Issues a token to `user_id`; users issue their own, system
    /// administrators anyone's.
    pub async fn issue_token(&self, subject: &Subject, user_id: &str, new_token: NewToken) -> AppResult<IssuedToken> {
        self.may_manage_tokens_of(subject, user_id)?;
        let name = required_text("name", &new_token.name, 100)?;
        let now = self.clock.now();
        let expires_at = match new_token.expires_in_days {
            Some(0) => {
                return Err(ValidationError::new("expires_in_days", "must be at least 1", "至少为 1 天").into());
            }
            Some(days) if days > 3650 => {
                return Err(ValidationError::new("expires_in_days", "must be at most 3650", "最多为 3650 天").into());
            }
            Some(days) => Some(now + Duration::days(i64::from(days))),
            None => None,
        };
        let secret = random_secret();
        let token = ApiToken {
            id: new_id(),
            user_id: user_id.to_owned(),
            name,
            token_hash: token_hash(&secret),
            prefix: secret[..TOKEN_PREFIX.len() + 6].to_owned(),
            created_at: now,
            expires_at,
            revoked_at: None,
        };
        let mut tx = self.store.write().await?;
        tx.user(user_id).await?;
        tx.insert_token(&token).await?;
        let step = Step {
            entity_kind: "token",
            entity_id: &token.id,
            action: "issue",
            from_state: None,
            to_state: Some("active"),
            opinion: None,
        };
        self.record(&mut tx, subject, step).await?;
        tx.commit().await?;
        Ok(IssuedToken { token, secret })
    }

    /// A user's tokens (hashes never leave the store's callers).
    pub async fn tokens(&self, subject: &Subject, user_id: &str) -> AppResult<Vec<ApiToken>> {
        self.may_manage_tokens_of(subject, user_id)?;
        let mut tx = self.store.read().await?;
        Ok(tx.tokens_of(user_id).await?)
    }

    /// Revokes a token at once.
    pub async fn revoke_token(&self, subject: &Subject, token_id: &str) -> AppResult<ApiToken> {
        let mut tx = self.store.write().await?;
        let token = tx.token(token_id).await?;
        self.may_manage_tokens_of(subject, &token.user_id)?;
        if token.revoked_at.is_some() {
            return Err(AppError::conflict("the token is already revoked", "该令牌已被吊销"));
        }
        let now = self.clock.now();
        tx.revoke_token(token_id, now).await?;
        let step = Step {
            entity_kind: "token",
            entity_id: token_id,
            action: "revoke",
            from_state: Some("active"),
            to_state: Some("revoked"),
            opinion: None,
        };
        self.record(&mut tx, subject, step).await?;
        tx.commit().await?;
        Ok(ApiToken { revoked_at: Some(now), ..token })
    }

    /// Revokes the token whose secret this is: a browser session signing out.
    pub async fn revoke_secret(&self, secret: &str) -> AppResult<()> {
        let subject = self.authenticate(secret).await?;
        let token_id = {
            let mut tx = self.store.read().await?;
            tx.token_by_hash(&token_hash(secret.trim())).await?.id
        };
        self.revoke_token(&subject, &token_id).await.map(|_| ())
    }

    fn may_manage_tokens_of(&self, subject: &Subject, user_id: &str) -> AppResult<()> {
        match subject {
            Subject::User { system_admin: true, .. } => Ok(()),
            Subject::User { user_id: me, .. } if me == user_id => Ok(()),
            Subject::User { .. } => Err(AppError::Forbidden {
                en: "you may manage only your own tokens",
                zh: "只能管理自己的令牌",
            }),
            Subject::Anonymous => Err(AppError::Unauthenticated("this needs an API token")),
        }
    }
}

/// The subject a user speaks as: their roles, read now.
async fn subject_for(
    tx: &mut Box<dyn gongshu_metadata::Transaction>,
    user: gongshu_domain::User,
) -> AppResult<Subject> {
    let memberships = tx
        .memberships(&user.id)
        .await?
        .into_iter()
        .map(|m| Membership { org_id: m.org_id, org_kind: m.org_kind, role: m.role })
        .collect();
    Ok(Subject::User { user_id: user.id, system_admin: user.system_admin, memberships })
}
