//! Requests from the public: 开放需求 (anyone asks for data that is not yet
//! open) and 纠错 (anyone reports an error in a published dataset). The
//! department concerned answers within a deadline in working days; the
//! request, the answer and how long it took are public. Who asked and how
//! to reach them are not.

use chrono::{DateTime, NaiveDate, Utc};

use crate::codes::code_enum;
use crate::error::ValidationError;

code_enum! {
    /// What the public asks for.
    pub enum RequestKind {
        /// 开放需求: data that is not open yet.
        Demand = ("demand", "开放需求"),
        /// 纠错: an error in a published dataset.
        Feedback = ("feedback", "数据纠错"),
    }
}

code_enum! {
    /// Where a request is.
    pub enum RequestState {
        /// 待答复.
        Open = ("open", "待答复"),
        /// 已答复.
        Answered = ("answered", "已答复"),
    }
}

code_enum! {
    /// How a request was answered.
    pub enum Outcome {
        /// 已开放: the data asked for is open now (demand).
        Opened = ("opened", "已开放"),
        /// 计划开放 / 计划修正: it will be, by a date.
        Planned = ("planned", "已列入计划"),
        /// 不予开放: it will not be, with the reason (demand).
        Declined = ("declined", "不予开放"),
        /// 已修正: the error is corrected (feedback).
        Fixed = ("fixed", "已修正"),
        /// 不予采纳: it is not an error, with the reason (feedback).
        Rejected = ("rejected", "不予采纳"),
    }
}

impl Outcome {
    /// Whether this outcome answers a request of `kind`.
    pub fn answers(self, kind: RequestKind) -> bool {
        match kind {
            RequestKind::Demand => matches!(self, Outcome::Opened | Outcome::Planned | Outcome::Declined),
            RequestKind::Feedback => matches!(self, Outcome::Fixed | Outcome::Planned | Outcome::Rejected),
        }
    }
}

/// A request and, once given, its answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicRequest {
    /// Stable id.
    pub id: String,
    /// Demand or feedback.
    pub kind: RequestKind,
    /// The dataset it is about (always for feedback; optional for demand).
    pub resource_id: Option<String>,
    /// The organization that answers it.
    pub org_id: String,
    /// A short title.
    pub title: String,
    /// What is asked or reported.
    pub body: String,
    /// How the requester wants to be shown (may be empty: 匿名).
    pub requester_name: Option<String>,
    /// How to reach the requester: seen only by those who answer.
    pub requester_contact: Option<String>,
    /// Open or answered.
    pub state: RequestState,
    /// The answer's outcome.
    pub outcome: Option<Outcome>,
    /// The answer.
    pub answer: Option<String>,
    /// By when a planned outcome is due.
    pub planned_date: Option<NaiveDate>,
    /// When it was submitted.
    pub submitted_at: DateTime<Utc>,
    /// The day by which it must be answered.
    pub due_date: NaiveDate,
    /// When it was answered.
    pub answered_at: Option<DateTime<Utc>>,
    /// Who answered it.
    pub answered_by: Option<String>,
}

/// An answer, checked against the request it answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The outcome.
    pub outcome: Outcome,
    /// The reply to the requester (the reason, for a refusal).
    pub text: String,
    /// By when, for a planned outcome.
    pub planned_date: Option<NaiveDate>,
}

impl PublicRequest {
    /// Applies `answer` on `today` at `now`, or says why it cannot be given.
    pub fn answer(
        &self,
        answer: Answer,
        answered_by: &str,
        today: NaiveDate,
        now: DateTime<Utc>,
    ) -> Result<PublicRequest, ValidationError> {
        if self.state != RequestState::Open {
            return Err(ValidationError::new(
                "state",
                "this request has been answered already",
                "该诉求已答复，不能重复答复",
            ));
        }
        if !answer.outcome.answers(self.kind) {
            return Err(ValidationError::new(
                "outcome",
                format!("`{}` does not answer a {} request", answer.outcome.code(), self.kind.code()),
                format!("“{}”不适用于{}", answer.outcome.label_zh(), self.kind.label_zh()),
            ));
        }
        let planned_date = match (answer.outcome, answer.planned_date) {
            (Outcome::Planned, None) => return Err(ValidationError::required("planned_date")),
            (Outcome::Planned, Some(date)) if date < today => {
                return Err(ValidationError::new(
                    "planned_date",
                    "a planned date cannot be in the past",
                    "计划日期不能早于今天",
                ));
            }
            (Outcome::Planned, date) => date,
            (_, _) => None,
        };
        let text = crate::error::required_text("answer", &answer.text, 4000)?;
        Ok(PublicRequest {
            state: RequestState::Answered,
            outcome: Some(answer.outcome),
            answer: Some(text),
            planned_date,
            answered_at: Some(now),
            answered_by: Some(answered_by.to_owned()),
            ..self.clone()
        })
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn request(kind: RequestKind) -> PublicRequest {
        PublicRequest {
            id: "r".into(),
            kind,
            resource_id: None,
            org_id: "org".into(),
            title: "公交实时位置".into(),
            body: "希望开放公交车辆实时位置数据".into(),
            requester_name: None,
            requester_contact: Some("a@example.com".into()),
            state: RequestState::Open,
            outcome: None,
            answer: None,
            planned_date: None,
            submitted_at: Utc.with_ymd_and_hms(2026, 11, 2, 1, 0, 0).unwrap(),
            due_date: NaiveDate::from_ymd_opt(2026, 11, 16).unwrap(),
            answered_at: None,
            answered_by: None,
        }
    }

    #[test]
    fn answers_fit_the_kind_and_are_given_once() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 5).unwrap();
        let now = Utc.with_ymd_and_hms(2026, 11, 5, 1, 0, 0).unwrap();
        let demand = request(RequestKind::Demand);
        let fixed = Answer { outcome: Outcome::Fixed, text: "已修正".into(), planned_date: None };
        assert_eq!(demand.answer(fixed, "u", today, now).unwrap_err().field, "outcome");
        let planned = |date| Answer { outcome: Outcome::Planned, text: "明年开放".into(), planned_date: date };
        assert_eq!(demand.answer(planned(None), "u", today, now).unwrap_err().field, "planned_date");
        let past = NaiveDate::from_ymd_opt(2026, 1, 1);
        assert_eq!(demand.answer(planned(past), "u", today, now).unwrap_err().field, "planned_date");
        let next_year = NaiveDate::from_ymd_opt(2027, 3, 1);
        let answered = demand.answer(planned(next_year), "u", today, now).unwrap();
        assert_eq!((answered.state, answered.planned_date), (RequestState::Answered, next_year));
        let again = Answer { outcome: Outcome::Opened, text: "已开放".into(), planned_date: None };
        assert_eq!(answered.answer(again, "u", today, now).unwrap_err().field, "state");
        let blank = Answer { outcome: Outcome::Declined, text: " ".into(), planned_date: None };
        assert_eq!(demand.answer(blank, "u", today, now).unwrap_err().field, "answer");
    }
}
