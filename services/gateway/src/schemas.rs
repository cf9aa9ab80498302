//! Schemas of the OpenAPI document for values the API takes as plain
//! strings but refuses outside a set: the document states the set, so a
//! client (or a fuzzer) can tell a valid request before sending it.

use std::borrow::Cow;

use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::{PartialSchema, ToSchema};
use voxline_core::Language;

fn codes() -> impl Iterator<Item = &'static str> {
    Language::all().iter().map(|l| l.code)
}

/// An ISO 639-1 code of a language Voxline knows. Whether a deployment
/// serves it depends on its engines (`GET /v1/voices`; a 422
/// `unsupported_language` names those it serves).
pub struct LanguageCode;

impl PartialSchema for LanguageCode {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some("An ISO 639-1 code of a language Voxline knows."))
            .enum_values(Some(codes()))
            .into()
    }
}

impl ToSchema for LanguageCode {
    fn name() -> Cow<'static, str> {
        "LanguageCode".into()
    }
}

/// The language a source speaks: a [`LanguageCode`], or `auto` where an
/// engine detects it.
pub struct SourceLanguage;

impl PartialSchema for SourceLanguage {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(
                "An ISO 639-1 code of a language Voxline knows, or `auto` where an engine detects it.",
            ))
            .enum_values(Some(codes().chain(["auto"])))
            .into()
    }
}

impl ToSchema for SourceLanguage {
    fn name() -> Cow<'static, str> {
        "SourceLanguage".into()
    }
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

/// A glossary's term: 1 to 100 characters, no control characters, not blank.
pub struct GlossaryTerm;

impl PartialSchema for GlossaryTerm {
    fn schema() -> RefOr<Schema> {
        printable(100)
    }
}

impl ToSchema for GlossaryTerm {
    fn name() -> Cow<'static, str> {
        "GlossaryTerm".into()
    }
}

/// A glossary's translation or respelling of a term: 1 to 200 characters,
/// no control characters, not blank.
pub struct GlossaryText;

impl PartialSchema for GlossaryText {
    fn schema() -> RefOr<Schema> {
        printable(200)
    }
}

impl ToSchema for GlossaryText {
    fn name() -> Cow<'static, str> {
        "GlossaryText".into()
    }
}
