//! Codes are text, never numbers: leading zeros are meaningful in every one of
//! them. This module holds the parsed code types and the `code_enum!` macro
//! that gives every closed list of values one stable text code and a Chinese
//! label.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::ValidationError;

/// Declares a closed list of values with stable text codes (used in the API
/// and the database) and Chinese labels (shown to people).
macro_rules! code_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident { $( $(#[$vmeta:meta])* $variant:ident = ($code:literal, $zh:literal) ),+ $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        pub enum $name {
            $( $(#[$vmeta])* #[serde(rename = $code)] $variant ),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// Every text code, in declaration order.
            pub const CODES: &'static [&'static str] = &[$($code),+];

            /// The stable text code.
            pub fn code(self) -> &'static str {
                match self { $($name::$variant => $code),+ }
            }

            /// The Chinese label.
            pub fn label_zh(self) -> &'static str {
                match self { $($name::$variant => $zh),+ }
            }

            /// Parses a text code, naming `field` in the error.
            pub fn parse(field: &str, value: &str) -> Result<Self, $crate::error::ValidationError> {
                match value.trim() {
                    $($code => Ok($name::$variant),)+
                    other => Err($crate::error::ValidationError::unknown_code(field, other, Self::CODES)),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.code())
            }
        }
    };
}
pub(crate) use code_enum;

/// The 18-character unified social credit code (统一社会信用代码, GB 32100-2015),
/// check character verified.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct OrgCode(String);

/// GB 32100 uses the digits and the capital letters without I, O, Z, S and V.
const USCI_ALPHABET: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";
const USCI_WEIGHTS: [u32; 17] = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];

impl OrgCode {
    /// Parses and checks a unified social credit code.
    pub fn parse(field: &str, value: &str) -> Result<Self, ValidationError> {
        let code = value.trim().to_ascii_uppercase();
        let invalid = |en: &str, zh: &str| {
            ValidationError::new(
                field,
                format!("`{value}` is not a unified social credit code: {en}"),
                format!("`{value}` 不是有效的统一社会信用代码：{zh}"),
            )
        };
        if code.chars().count() != 18 {
            return Err(invalid("it must have 18 characters", "应为 18 位"));
        }
        if !code.chars().all(|c| USCI_ALPHABET.contains(c)) {
            return Err(invalid(
                "only digits and capital letters other than I, O, Z, S, V are allowed",
                "只能包含数字和除 I、O、Z、S、V 以外的大写字母",
            ));
        }
        let expected = Self::check_character(&code[..17]);
        if code.chars().nth(17) != Some(expected) {
            return Err(invalid("the check character does not match", "校验码不正确"));
        }
        Ok(OrgCode(code))
    }

    /// Completes the first 17 characters of a code with its check character.
    ///
    /// The caller must pass 17 characters of the code alphabet.
    pub fn complete(first_17: &str) -> Result<Self, ValidationError> {
        let check = Self::check_character(first_17);
        Self::parse("code", &format!("{first_17}{check}"))
    }

    fn check_character(first_17: &str) -> char {
        let sum: u32 = first_17
            .chars()
            .zip(USCI_WEIGHTS)
            .map(|(c, weight)| USCI_ALPHABET.find(c).unwrap_or(0) as u32 * weight)
            .sum();
        let check = (31 - sum % 31) % 31;
        USCI_ALPHABET.as_bytes()[check as usize] as char
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An administrative division code (GB/T 2260: 6 digits; the statistical
/// division code: 12 digits).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RegionCode(String);

impl RegionCode {
    /// Parses a 6- or 12-digit division code.
    pub fn parse(field: &str, value: &str) -> Result<Self, ValidationError> {
        let code = value.trim();
        let digits = code.chars().all(|c| c.is_ascii_digit());
        if !digits || !(code.len() == 6 || code.len() == 12) {
            return Err(ValidationError::new(
                field,
                format!("`{value}` is not a division code: expected 6 or 12 digits (GB/T 2260)"),
                format!("`{value}` 不是有效的行政区划代码：应为 6 位或 12 位数字（GB/T 2260）"),
            ));
        }
        Ok(RegionCode(code.to_owned()))
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The 6-digit county-level prefix.
    pub fn county_prefix(&self) -> &str {
        &self.0[..6]
    }
}

/// The code assigned when a registration is coded (赋码): 22 digits, laid out
/// like the national registry's `dataRegistCode`.
///
/// `RRRRRR K YYYYMMDD SSSSSSS`: the registry's 6-digit region, the registration
/// kind (1 resource, 2 product or service, 3 open data), the coding date and a
/// 7-digit sequence number within that region, kind and day.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RegistrationCode(String);

impl RegistrationCode {
    /// Length of a registration code.
    pub const LEN: usize = 22;

    /// The prefix shared by every code of one region, kind and day; the
    /// sequence number completes it.
    pub fn prefix(region: &RegionCode, kind_digit: u8, day: chrono::NaiveDate) -> String {
        format!("{}{}{}", region.county_prefix(), kind_digit, day.format("%Y%m%d"))
    }

    /// Builds a code from its prefix and sequence number.
    pub fn from_parts(prefix: &str, sequence: u32) -> Self {
        debug_assert_eq!(prefix.len(), 15);
        debug_assert!(sequence < 10_000_000);
        RegistrationCode(format!("{prefix}{sequence:07}"))
    }

    /// Parses a stored or typed code.
    pub fn parse(field: &str, value: &str) -> Result<Self, ValidationError> {
        let code = value.trim();
        if code.len() != Self::LEN || !code.chars().all(|c| c.is_ascii_digit()) {
            return Err(ValidationError::new(
                field,
                format!("`{value}` is not a registration code: expected 22 digits"),
                format!("`{value}` 不是有效的登记编码：应为 22 位数字"),
            ));
        }
        Ok(RegistrationCode(code.to_owned()))
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RegistrationCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usci_check_character_is_verified() {
        // A code published on a government notice board; its check
        // character is the last one.
        let code = OrgCode::complete("91350100M000100Y4").unwrap();
        assert_eq!(code.as_str().len(), 18);
        assert!(OrgCode::parse("code", code.as_str()).is_ok());
        let mut wrong = code.as_str().to_owned();
        let last = wrong.pop().unwrap();
        wrong.push(if last == '0' { '1' } else { '0' });
        let error = OrgCode::parse("code", &wrong).unwrap_err();
        assert!(error.message_en.contains("check character"), "{error}");
        assert!(OrgCode::parse("code", "91350100M000100Y4I").is_err());
        assert!(OrgCode::parse("code", "123").is_err());
    }

    #[test]
    fn region_codes_keep_leading_zeros_and_reject_numbers_of_other_lengths() {
        assert_eq!(RegionCode::parse("r", "110101").unwrap().as_str(), "110101");
        assert_eq!(RegionCode::parse("r", "110101001001").unwrap().county_prefix(), "110101");
        assert!(RegionCode::parse("r", "11010").is_err());
        assert!(RegionCode::parse("r", "11010a").is_err());
    }

    #[test]
    fn registration_codes_have_22_digits() {
        let region = RegionCode::parse("r", "330100").unwrap();
        let day = chrono::NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
        let prefix = RegistrationCode::prefix(&region, 1, day);
        let code = RegistrationCode::from_parts(&prefix, 42);
        assert_eq!(code.as_str(), "3301001202603010000042");
        assert!(RegistrationCode::parse("c", code.as_str()).is_ok());
    }
}
