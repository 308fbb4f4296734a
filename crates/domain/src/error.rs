//! Errors of the domain: bilingual validation errors that name the field, and
//! refused state transitions that name the current state.

use std::fmt;

/// One problem with one input field, said in English and in Chinese.
///
/// `field` is a path a person can follow back to their input, such as
/// `items[2].level`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationError {
    /// Path of the offending field in the request.
    pub field: String,
    /// What is wrong, in English.
    pub message_en: String,
    /// What is wrong, in Chinese.
    pub message_zh: String,
}

impl ValidationError {
    /// A problem described in both languages.
    pub fn new(field: impl Into<String>, en: impl Into<String>, zh: impl Into<String>) -> Self {
        ValidationError { field: field.into(), message_en: en.into(), message_zh: zh.into() }
    }

    /// The field is missing or blank.
    pub fn required(field: impl Into<String>) -> Self {
        Self::new(field, "is required and must not be blank", "为必填项，不能为空")
    }

    /// The field is longer than `max` characters.
    pub fn too_long(field: impl Into<String>, max: usize) -> Self {
        Self::new(field, format!("must be at most {max} characters"), format!("长度不能超过 {max} 个字符"))
    }

    /// The field holds a value outside a closed list of codes.
    pub fn unknown_code(field: impl Into<String>, value: &str, allowed: &[&str]) -> Self {
        let allowed = allowed.join(", ");
        Self::new(
            field,
            format!("unknown value `{value}`; expected one of: {allowed}"),
            format!("取值 `{value}` 无效，可选值：{allowed}"),
        )
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} ({})", self.field, self.message_en, self.message_zh)
    }
}

impl std::error::Error for ValidationError {}

/// All the problems found in one input, so a person fixes them in one pass.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Validations(pub Vec<ValidationError>);

impl Validations {
    /// Records a problem.
    pub fn push(&mut self, error: ValidationError) {
        self.0.push(error);
    }

    /// Takes the `Err` of `result`, keeping the `Ok` value.
    pub fn check<T>(&mut self, result: Result<T, ValidationError>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(error) => {
                self.0.push(error);
                None
            }
        }
    }

    /// `Ok(value)` when nothing was recorded.
    pub fn finish<T>(self, value: impl FnOnce() -> T) -> Result<T, Validations> {
        if self.0.is_empty() { Ok(value()) } else { Err(self) }
    }

    /// Whether no problem was recorded.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<ValidationError> for Validations {
    fn from(error: ValidationError) -> Self {
        Validations(vec![error])
    }
}

impl fmt::Display for Validations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, error) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Validations {}

/// A state machine refused an action in the current state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot {action} a {entity} in state {current}")]
pub struct InvalidTransition {
    /// `resource` or `registration`.
    pub entity: &'static str,
    /// The action that was refused.
    pub action: &'static str,
    /// The state the entity is in.
    pub current: &'static str,
}

/// Trims `value` and checks it is non-blank and at most `max` characters.
pub fn required_text(field: &str, value: &str, max: usize) -> Result<String, ValidationError> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(ValidationError::required(field));
    }
    if trimmed.chars().count() > max {
        return Err(ValidationError::too_long(field, max));
    }
    Ok(trimmed.to_owned())
}

/// Like [`required_text`] but a blank value is `None`.
pub fn optional_text(field: &str, value: Option<&str>, max: usize) -> Result<Option<String>, ValidationError> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(text) => required_text(field, text, max).map(Some),
    }
}
