/// Why a value from outside could not become a domain value.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CoreError {
    #[error("`{0}` is not a language code Voxline knows (use ISO 639-1 codes such as en, es, fr)")]
    UnknownLanguage(String),
    #[error("`{value}` is not a valid {what}; expected one of: {}", expected.join(", "))]
    UnknownVariant {
        what: &'static str,
        value: String,
        expected: &'static [&'static str],
    },
    #[error("`{0}` is not a valid id (expected a UUID)")]
    InvalidId(String),
}
