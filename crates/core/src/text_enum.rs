/// Declares an enum whose variants travel as fixed snake_case words (in JSON,
/// in PostgreSQL text columns and in queue names), with `parse` and `as_str`.
macro_rules! text_enum {
    ($(#[$doc:meta])* $name:ident, $what:literal { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        pub enum $name {
            $(#[serde(rename = $text)] $variant),+
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The word this variant travels as.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            /// Parses the word a variant travels as.
            pub fn parse(text: &str) -> Result<Self, $crate::CoreError> {
                match text {
                    $($text => Ok($name::$variant),)+
                    _ => Err($crate::CoreError::UnknownVariant {
                        what: $what,
                        value: text.chars().take(64).collect(),
                        expected: &[$($text),+],
                    }),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::CoreError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }
    };
}
