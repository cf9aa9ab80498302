//! Schemas of the OpenAPI document for values the API takes as plain
//! strings but refuses outside a set: the document states the set, so a
//! client (or a fuzzer) can tell a valid request before sending it.

use std::borrow::Cow;

use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::{PartialSchema, ToSchema};
use voxline_core::Language;

/// A schema-only type named after itself in the document.
macro_rules! schema {
    ($(#[$doc:meta])* $name:ident => $schema:expr) => {
        $(#[$doc])*
        pub struct $name;

        impl PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                $schema
            }
        }

        impl ToSchema for $name {
            fn name() -> Cow<'static, str> {
                stringify!($name).into()
            }
        }
    };
}

fn codes() -> impl Iterator<Item = &'static str> {
    Language::all().iter().map(|l| l.code)
}

fn one_of(description: &str, values: impl Iterator<Item = &'static str>) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(description))
        .enum_values(Some(values))
        .into()
}

/// Text of a line: no control characters, and not blank.
const PRINTABLE: &str = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$";

fn printable(max: usize) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(1))
        .max_length(Some(max))
        .pattern(Some(PRINTABLE))
        .into()
}

schema! {
    /// An ISO 639-1 code of a language Voxline knows. Whether a deployment
    /// serves it depends on its engines (`GET /v1/voices`; a 422
    /// `unsupported_language` names those it serves).
    LanguageCode => one_of("An ISO 639-1 code of a language Voxline knows.", codes())
}

schema! {
    /// The language a source speaks: a [`LanguageCode`], or `auto` where an
    /// engine detects it.
    SourceLanguage => one_of(
        "An ISO 639-1 code of a language Voxline knows, or `auto` where an engine detects it.",
        codes().chain(["auto"]),
    )
}

schema! {
    /// A glossary's term: 1 to 100 characters, no control characters, not blank.
    GlossaryTerm => printable(100)
}

schema! {
    /// A glossary's translation or respelling of a term: 1 to 200
    /// characters, no control characters, not blank.
    GlossaryText => printable(200)
}
