//! Organizations, users, sign-in and API tokens.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use gongshu_app::{NewOrganization, NewToken, NewUser};
use gongshu_policy::Subject;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::ApiState;
use crate::dto::{
    LoginInput, MeDto, OrganizationDto, OrganizationInput, RoleDto, TokenDto, TokenInput, UserDto, UserInput,
};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, Caller};

pub(crate) fn router() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(me))
        .routes(routes!(login))
        .routes(routes!(my_tokens, create_my_token))
        .routes(routes!(revoke_token))
        .routes(routes!(list_organizations, create_organization))
        .routes(routes!(get_organization))
        .routes(routes!(create_user))
        .routes(routes!(get_user))
        .routes(routes!(grant_role))
}

fn user_id(subject: &Subject) -> ApiResult<&str> {
    match subject {
        Subject::User { user_id, .. } => Ok(user_id),
        Subject::Anonymous => Err(gongshu_app::AppError::Unauthenticated("this needs an API token").into()),
    }
}

/// Who the token speaks for; `user` is null for the public.
#[utoipa::path(get, path = "/api/v1/me", tag = "accounts", responses((status = 200, description = "Success", body = MeDto)))]
async fn me(State(state): State<ApiState>, Caller(subject): Caller) -> ApiResult<Json<MeDto>> {
    let user = match &subject {
        Subject::User { user_id, .. } if user_id != gongshu_app::SYSTEM_ACTOR => {
            let (user, roles) = state.app.user_with_roles(user_id).await?;
            Some(UserDto::new(&user, &roles))
        }
        _ => None,
    };
    Ok(Json(MeDto { user }))
}

/// Signs in with a password; answers a new API token (shown once).
#[utoipa::path(post, path = "/api/v1/auth/tokens", tag = "accounts", request_body = LoginInput, security(()),
    responses((status = 201, description = "Created", body = TokenDto), (status = 401, description = "No valid token: `unauthenticated`", body = ErrorBody)))]
async fn login(
    State(state): State<ApiState>,
    ApiJson(input): ApiJson<LoginInput>,
) -> ApiResult<(StatusCode, Json<TokenDto>)> {
    let issued = state
        .app
        .login(
            &input.username,
            &input.password,
            NewToken { name: input.token_name, expires_in_days: input.expires_in_days },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(TokenDto { token: Some(issued.secret), ..TokenDto::from(&issued.token) })))
}

/// The caller's tokens.
#[utoipa::path(get, path = "/api/v1/me/tokens", tag = "accounts", responses((status = 200, description = "Success", body = Vec<TokenDto>), (status = 401, description = "No valid token: `unauthenticated`", body = ErrorBody)))]
async fn my_tokens(State(state): State<ApiState>, Caller(subject): Caller) -> ApiResult<Json<Vec<TokenDto>>> {
    let tokens = state.app.tokens(&subject, user_id(&subject)?).await?;
    Ok(Json(tokens.iter().map(TokenDto::from).collect()))
}

/// Issues another token to the caller (shown once).
#[utoipa::path(post, path = "/api/v1/me/tokens", tag = "accounts", request_body = TokenInput, responses((status = 201, description = "Created", body = TokenDto), (status = 422, description = "Invalid input: `validation_failed`", body = ErrorBody)))]
async fn create_my_token(
    State(state): State<ApiState>,
    Caller(subject): Caller,
    ApiJson(input): ApiJson<TokenInput>,
) -> ApiResult<(StatusCode, Json<TokenDto>)> {
    let issued = state
        .app
        .issue_token(
            &subject,
            user_id(&subject)?,
            NewToken { name: input.name, expires_in_days: input.expires_in_days },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(TokenDto { token: Some(issued.secret), ..TokenDto::from(&issued.token) })))
}

/// Revokes a token at once.
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "accounts", params(("id" = String, Path)), responses((status = 200, description = "Success", body = TokenDto), (status = 404, description = "Not found or not visible: `not_found`", body = ErrorBody)))]
async fn revoke_token(
    State(state): State<ApiState>,
    Caller(subject): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<TokenDto>> {
    Ok(Json(TokenDto::from(&state.app.revoke_token(&subject, &id).await?)))
}

/// Every organization.
#[utoipa::path(get, path = "/api/v1/organizations", tag = "accounts", security(()), responses((status = 200, description = "Success", body = Vec<OrganizationDto>)))]
async fn list_organizations(State(state): State<ApiState>) -> ApiResult<Json<Vec<OrganizationDto>>> {
    Ok(Json(state.app.organizations().await?.iter().map(OrganizationDto::from).collect()))
}

/// Creates an organization (bureau administrators).
#[utoipa::path(post, path = "/api/v1/organizations", tag = "accounts", request_body = OrganizationInput,
    responses((status = 201, description = "Created", body = OrganizationDto), (status = 403, description = "Not allowed: `forbidden`", body = ErrorBody), (status = 409, description = "State or data conflict: `invalid_transition`, `conflict`", body = ErrorBody), (status = 422, description = "Invalid input: `validation_failed`", body = ErrorBody)))]
async fn create_organization(
    State(state): State<ApiState>,
    Caller(subject): Caller,
    ApiJson(input): ApiJson<OrganizationInput>,
) -> ApiResult<(StatusCode, Json<OrganizationDto>)> {
    let new = NewOrganization {
        code: input.code,
        name_zh: input.name_zh,
        name_en: input.name_en,
        kind: input.kind,
        region: input.region,
        parent_id: input.parent_id,
    };
    let org = state.app.create_organization(&subject, new).await?;
    Ok((StatusCode::CREATED, Json(OrganizationDto::from(&org))))
}

/// One organization.
#[utoipa::path(get, path = "/api/v1/organizations/{id}", tag = "accounts", security(()), params(("id" = String, Path)), responses((status = 200, description = "Success", body = OrganizationDto), (status = 404, description = "Not found or not visible: `not_found`", body = ErrorBody)))]
async fn get_organization(State(state): State<ApiState>, Path(id): Path<String>) -> ApiResult<Json<OrganizationDto>> {
    Ok(Json(OrganizationDto::from(&state.app.organization(&id).await?)))
}

/// Creates a user with roles (administrators of those organizations).
#[utoipa::path(post, path = "/api/v1/users", tag = "accounts", request_body = UserInput,
    responses((status = 201, description = "Created", body = UserDto), (status = 403, description = "Not allowed: `forbidden`", body = ErrorBody), (status = 409, description = "State or data conflict: `invalid_transition`, `conflict`", body = ErrorBody), (status = 422, description = "Invalid input: `validation_failed`", body = ErrorBody)))]
async fn create_user(
    State(state): State<ApiState>,
    Caller(subject): Caller,
    ApiJson(input): ApiJson<UserInput>,
) -> ApiResult<(StatusCode, Json<UserDto>)> {
    let new = NewUser {
        username: input.username,
        display_name: input.display_name,
        password: input.password,
        system_admin: input.system_admin,
        roles: input.roles.into_iter().map(|r| (r.org_id, r.role)).collect(),
    };
    let user = state.app.create_user(&subject, new).await?;
    let (user, roles) = state.app.user_with_roles(&user.id).await?;
    Ok((StatusCode::CREATED, Json(UserDto::new(&user, &roles))))
}

/// A user and their roles (themselves, or anyone for overseers).
#[utoipa::path(get, path = "/api/v1/users/{id}", tag = "accounts", params(("id" = String, Path)), responses((status = 200, description = "Success", body = UserDto), (status = 404, description = "Not found or not visible: `not_found`", body = ErrorBody)))]
async fn get_user(
    State(state): State<ApiState>,
    Caller(subject): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<UserDto>> {
    let me = user_id(&subject)?;
    let oversees = gongshu_policy::decide(&subject, gongshu_policy::Action::ViewAll).is_allowed();
    if me != id && !oversees {
        return Err(gongshu_app::AppError::NotFound { entity: "user", id }.into());
    }
    let (user, roles) = state.app.user_with_roles(&id).await?;
    Ok(Json(UserDto::new(&user, &roles)))
}

/// Gives a user a role in an organization.
#[utoipa::path(post, path = "/api/v1/users/{id}/roles", tag = "accounts", params(("id" = String, Path)), request_body = RoleDto,
    responses((status = 200, description = "Success", body = UserDto), (status = 403, description = "Not allowed: `forbidden`", body = ErrorBody), (status = 422, description = "Invalid input: `validation_failed`", body = ErrorBody)))]
async fn grant_role(
    State(state): State<ApiState>,
    Caller(subject): Caller,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<RoleDto>,
) -> ApiResult<Json<UserDto>> {
    state.app.grant_role(&subject, &id, &input.org_id, &input.role).await?;
    let (user, roles) = state.app.user_with_roles(&id).await?;
    Ok(Json(UserDto::new(&user, &roles)))
}
