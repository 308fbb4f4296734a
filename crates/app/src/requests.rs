//! Requests from the public (开放需求 and 纠错) and their answers. Anyone may
//! ask, signed in or not; the department concerned (or the bureau's
//! reviewers) answers within `request_working_days`. Requests, answers and
//! response times are public; the requester's contact is shown only to
//! those who may answer.

use chrono::{DateTime, NaiveDate, Utc};
use gongshu_domain::error::{optional_text, required_text};
use gongshu_domain::{
    Answer, OrgKind, Outcome, PublicRequest, RequestKind, RequestState, ResourceState, ValidationError,
};
use gongshu_metadata::RequestFilter;
use gongshu_policy::{Action, Subject};

use crate::catalog::page_bounds;
use crate::{App, AppError, AppResult, Step, authorize, new_id};

/// A request as submitted.
#[derive(Debug, Clone, Default)]
pub struct NewRequest {
    /// `demand` or `feedback`.
    pub kind: String,
    /// The dataset it is about (required for feedback).
    pub resource_id: Option<String>,
    /// The organization asked (demand without a dataset); the data bureau when `None`.
    pub org_id: Option<String>,
    /// A short title.
    pub title: String,
    /// What is asked or reported.
    pub body: String,
    /// How to show the requester (empty: anonymous).
    pub requester_name: Option<String>,
    /// How to reach the requester (seen only by those who answer).
    pub requester_contact: Option<String>,
}

/// An answer as given.
#[derive(Debug, Clone, Default)]
pub struct AnswerInput {
    /// `opened`, `planned`, `declined` (demand) or `fixed`, `planned`, `rejected` (feedback).
    pub outcome: String,
    /// The reply (the reason, for a refusal).
    pub text: String,
    /// `YYYY-MM-DD`, for a planned outcome.
    pub planned_date: Option<String>,
}

/// What to list.
#[derive(Debug, Clone, Default)]
pub struct RequestQuery {
    /// Only this kind.
    pub kind: Option<String>,
    /// Only this state.
    pub state: Option<String>,
    /// Only requests to this organization.
    pub org_id: Option<String>,
    /// Only requests about this dataset.
    pub resource_id: Option<String>,
    /// Only requests the caller may answer.
    pub mine: bool,
    /// Page size (1–100, default 20).
    pub limit: Option<i64>,
    /// Rows to skip.
    pub offset: Option<i64>,
}

/// A request with what the public may know of its timing.
#[derive(Debug, Clone)]
pub struct RequestView {
    /// The request (its contact empty unless the caller may answer it).
    pub request: PublicRequest,
    /// Whether it is open past its due date.
    pub overdue: bool,
    /// Working days it took to answer.
    pub response_working_days: Option<u32>,
    /// Whether the caller may answer it.
    pub may_answer: bool,
}

/// A page of requests.
#[derive(Debug, Clone)]
pub struct RequestList {
    /// This page.
    pub items: Vec<RequestView>,
    /// All matches.
    pub total: i64,
    /// Page size used.
    pub limit: i64,
    /// Offset used.
    pub offset: i64,
}

/// How requests are being answered, over all of them.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RequestStats {
    /// Requests received.
    pub total: u64,
    /// Answered.
    pub answered: u64,
    /// Open past their due date.
    pub overdue: u64,
    /// Median working days to answer, over answered requests.
    pub median_response_working_days: Option<f64>,
}

impl App {
    fn local_day(&self, at: DateTime<Utc>) -> NaiveDate {
        at.with_timezone(&self.rules.utc_offset).date_naive()
    }

    fn view_request(&self, subject: &Subject, mut request: PublicRequest) -> RequestView {
        let may_answer =
            gongshu_policy::decide(subject, Action::AnswerRequest { org_id: &request.org_id }).is_allowed();
        if !may_answer {
            request.requester_contact = None;
        }
        let overdue = request.state == RequestState::Open && self.today() > request.due_date;
        let response_working_days = request
            .answered_at
            .map(|at| self.calendar.working_days_between(self.local_day(request.submitted_at), self.local_day(at)));
        RequestView { request, overdue, response_working_days, may_answer }
    }

    /// Files a request from the public.
    pub async fn submit_request(&self, subject: &Subject, new: NewRequest) -> AppResult<RequestView> {
        let kind = RequestKind::parse("kind", &new.kind)?;
        let title = required_text("title", &new.title, 100)?;
        let body = required_text("body", &new.body, 4000)?;
        let requester_name = optional_text("requester_name", new.requester_name.as_deref(), 50)?;
        let requester_contact = optional_text("requester_contact", new.requester_contact.as_deref(), 200)?;
        let resource_id = optional_text("resource_id", new.resource_id.as_deref(), 100)?;
        let mut tx = self.store.write().await?;
        let org_id = match (&resource_id, kind) {
            (Some(id), _) => {
                let resource = match self.visible_resource(&mut tx, subject, id).await {
                    Err(AppError::NotFound { .. }) => {
                        return Err(ValidationError::new(
                            "resource_id",
                            format!("no published dataset has the id `{id}`"),
                            format!("不存在 id 为 `{id}` 的已发布数据资源"),
                        )
                        .into());
                    }
                    other => other?,
                };
                if kind == RequestKind::Feedback && resource.state != ResourceState::Published {
                    return Err(ValidationError::new(
                        "resource_id",
                        "errors are reported on published datasets",
                        "纠错仅针对已发布的数据资源",
                    )
                    .into());
                }
                let provider = tx.organization(&resource.provider_org_id).await?;
                if provider.kind == OrgKind::Portal {
                    // A harvested entry's source portal has nobody here to
                    // answer: the data bureau takes it up with the source.
                    bureau_id(&mut tx).await?
                } else {
                    provider.id
                }
            }
            (None, RequestKind::Feedback) => return Err(ValidationError::required("resource_id").into()),
            (None, RequestKind::Demand) => match optional_text("org_id", new.org_id.as_deref(), 100)? {
                Some(org_id) => {
                    if tx.organization(&org_id).await.is_err() {
                        return Err(ValidationError::new(
                            "org_id",
                            format!("no organization has the id `{org_id}`"),
                            format!("不存在 id 为 `{org_id}` 的单位"),
                        )
                        .into());
                    }
                    org_id
                }
                // Not sure whom to ask: the data bureau routes it.
                None => bureau_id(&mut tx).await?,
            },
        };
        let request = PublicRequest {
            id: new_id(),
            kind,
            resource_id,
            org_id,
            title,
            body,
            requester_name,
            requester_contact,
            state: RequestState::Open,
            outcome: None,
            answer: None,
            planned_date: None,
            submitted_at: self.clock.now(),
            due_date: self.due(self.rules.request_working_days),
            answered_at: None,
            answered_by: None,
        };
        tx.insert_request(&request).await?;
        let step = Step {
            entity_kind: "request",
            entity_id: &request.id,
            action: "submit",
            from_state: None,
            to_state: Some(RequestState::Open.code()),
            opinion: None,
        };
        self.record(&mut tx, subject, step).await?;
        tx.commit().await?;
        tracing::info!(request_id = request.id, kind = kind.code(), org_id = request.org_id, "public request filed");
        Ok(self.view_request(subject, request))
    }

    /// Answers a request: its department's cataloguers or the bureau's reviewers.
    pub async fn answer_request(&self, subject: &Subject, id: &str, input: AnswerInput) -> AppResult<RequestView> {
        let outcome = Outcome::parse("outcome", &input.outcome)?;
        let planned_date = match optional_text("planned_date", input.planned_date.as_deref(), 10)? {
            Some(text) => Some(NaiveDate::parse_from_str(&text, "%Y-%m-%d").map_err(|_| {
                ValidationError::new("planned_date", "must be a date like 2027-03-01", "应为日期，如 2027-03-01")
            })?),
            None => None,
        };
        let Subject::User { user_id, .. } = subject else {
            return Err(AppError::Unauthenticated("sign in to answer requests"));
        };
        let mut tx = self.store.write().await?;
        let request = tx.request(id).await?;
        authorize(subject, Action::AnswerRequest { org_id: &request.org_id })?;
        let answer = Answer { outcome, text: input.text, planned_date };
        let answered = request.answer(answer, user_id, self.today(), self.clock.now())?;
        tx.answer_request(&answered).await?;
        let step = Step {
            entity_kind: "request",
            entity_id: id,
            action: outcome.code(),
            from_state: Some(RequestState::Open.code()),
            to_state: Some(RequestState::Answered.code()),
            opinion: answered.answer.as_deref(),
        };
        self.record(&mut tx, subject, step).await?;
        tx.commit().await?;
        Ok(self.view_request(subject, answered))
    }

    /// One request.
    pub async fn request(&self, subject: &Subject, id: &str) -> AppResult<RequestView> {
        let mut tx = self.store.read().await?;
        let request = tx.request(id).await?;
        Ok(self.view_request(subject, request))
    }

    /// Requests, newest first.
    pub async fn requests(&self, subject: &Subject, query: RequestQuery) -> AppResult<RequestList> {
        let (limit, offset) = page_bounds(query.limit, query.offset)?;
        let kind =
            query.kind.as_deref().filter(|k| !k.is_empty()).map(|k| RequestKind::parse("kind", k)).transpose()?;
        let state =
            query.state.as_deref().filter(|s| !s.is_empty()).map(|s| RequestState::parse("state", s)).transpose()?;
        let mut org_ids = query.org_id.filter(|o| !o.is_empty()).map(|o| vec![o]);
        if query.mine {
            let Subject::User { memberships, .. } = subject else {
                return Err(AppError::Unauthenticated("sign in to see the requests you answer"));
            };
            let reviewer = gongshu_policy::decide(subject, Action::Review).is_allowed();
            if !reviewer {
                let mine: Vec<String> = memberships
                    .iter()
                    .filter(|m| {
                        gongshu_policy::decide(subject, Action::AnswerRequest { org_id: &m.org_id }).is_allowed()
                    })
                    .map(|m| m.org_id.clone())
                    .collect();
                org_ids = Some(match org_ids {
                    Some(asked) => asked.into_iter().filter(|o| mine.contains(o)).collect(),
                    None => mine,
                });
            }
        }
        let filter = RequestFilter { kind, state, org_ids, resource_id: query.resource_id, limit, offset };
        let mut tx = self.store.read().await?;
        let page = tx.requests(&filter).await?;
        let items = page.items.into_iter().map(|r| self.view_request(subject, r)).collect();
        Ok(RequestList { items, total: page.total, limit, offset })
    }

    /// How requests are being answered.
    pub async fn request_stats(&self) -> AppResult<RequestStats> {
        let mut tx = self.store.read().await?;
        let mut stats = RequestStats::default();
        let mut days = Vec::new();
        let mut offset = 0;
        loop {
            let filter = RequestFilter { limit: 1000, offset, ..RequestFilter::default() };
            let page = tx.requests(&filter).await?;
            let got = page.items.len() as i64;
            for request in page.items {
                let view = self.view_request(&Subject::Anonymous, request);
                stats.total += 1;
                stats.overdue += u64::from(view.overdue);
                if let Some(working_days) = view.response_working_days {
                    stats.answered += 1;
                    days.push(working_days);
                }
            }
            offset += got;
            if got < 1000 {
                break;
            }
        }
        days.sort_unstable();
        stats.median_response_working_days = match days.len() {
            0 => None,
            n if n % 2 == 1 => Some(f64::from(days[n / 2])),
            n => Some(f64::from(days[n / 2 - 1] + days[n / 2]) / 2.0),
        };
        Ok(stats)
    }
}

/// The data bureau that runs the instance: it routes requests nobody else can answer.
async fn bureau_id(tx: &mut Box<dyn gongshu_metadata::Transaction>) -> AppResult<String> {
    tx.organizations()
        .await?
        .into_iter()
        .find(|o| o.kind == OrgKind::DataBureau)
        .map(|o| o.id)
        .ok_or_else(|| ValidationError::required("org_id").into())
}
