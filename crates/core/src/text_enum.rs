/// Declares an enum whose variants travel as fixed snake_case words (in JSON,
/// in queue names and in PostgreSQL), with `parse` and `as_str`.
///
/// With `sql "type_name"` the enum also maps to that PostgreSQL enum type
/// (and to text columns) through `ToSql`/`FromSql` when the `sql` feature is
/// on: queries take and return the Rust value, never a word typed by hand.
macro_rules! text_enum {
    ($(#[$doc:meta])* $name:ident, $what:literal, sql $pg:literal { $($(#[$va:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        text_enum!($(#[$doc])* $name, $what { $($(#[$va])* $variant => $text),+ });

        impl $name {
            /// The PostgreSQL enum type this maps to.
            pub const SQL_TYPE: &'static str = $pg;
        }

        #[cfg(feature = "sql")]
        impl<'a> postgres_types::FromSql<'a> for $name {
            fn from_sql(
                _: &postgres_types::Type,
                raw: &'a [u8],
            ) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
                Ok(Self::parse(std::str::from_utf8(raw)?)?)
            }

            fn accepts(ty: &postgres_types::Type) -> bool {
                $crate::text_enum::sql_accepts(ty, $pg)
            }
        }

        #[cfg(feature = "sql")]
        impl postgres_types::ToSql for $name {
            fn to_sql(
                &self,
                _: &postgres_types::Type,
                out: &mut bytes::BytesMut,
            ) -> Result<postgres_types::IsNull, Box<dyn std::error::Error + Sync + Send>> {
                out.extend_from_slice(self.as_str().as_bytes());
                Ok(postgres_types::IsNull::No)
            }

            fn accepts(ty: &postgres_types::Type) -> bool {
                $crate::text_enum::sql_accepts(ty, $pg)
            }

            postgres_types::to_sql_checked!();
        }
    };
    ($(#[$doc:meta])* $name:ident, $what:literal { $($(#[$va:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        pub enum $name {
            $($(#[$va])* #[serde(rename = $text)] $variant),+
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

/// A word enum is read from and written to its own PostgreSQL enum type,
/// and to plain text columns (events and usage keep stages as text).
#[cfg(feature = "sql")]
pub(crate) fn sql_accepts(ty: &postgres_types::Type, name: &str) -> bool {
    ty.name() == name
        || matches!(
            *ty,
            postgres_types::Type::TEXT | postgres_types::Type::VARCHAR
        )
}
