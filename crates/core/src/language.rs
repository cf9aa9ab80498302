use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::CoreError;

/// A language Voxline can name, with the codes every tool it talks to wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Language {
    /// ISO 639-1, the code of the API (`es`).
    pub code: &'static str,
    /// ISO 639-2/B, the code media containers carry in their language tags (`spa`).
    pub iso639_2: &'static str,
    /// English name, for people.
    pub name: &'static str,
    /// A flag emoji the existing frontend shows beside the name.
    pub flag: &'static str,
}

const fn lang(
    code: &'static str,
    iso639_2: &'static str,
    name: &'static str,
    flag: &'static str,
) -> Language {
    Language {
        code,
        iso639_2,
        name,
        flag,
    }
}

/// Every language Voxline knows the name of. Which of them a deployment can
/// actually serve depends on its configured engines.
const KNOWN: &[Language] = &[
    lang("en", "eng", "English", "🇺🇸"),
    lang("es", "spa", "Spanish", "🇪🇸"),
    lang("fr", "fre", "French", "🇫🇷"),
    lang("de", "ger", "German", "🇩🇪"),
    lang("it", "ita", "Italian", "🇮🇹"),
    lang("pt", "por", "Portuguese", "🇵🇹"),
    lang("ru", "rus", "Russian", "🇷🇺"),
    lang("ja", "jpn", "Japanese", "🇯🇵"),
    lang("ko", "kor", "Korean", "🇰🇷"),
    lang("zh", "chi", "Chinese", "🇨🇳"),
    lang("ar", "ara", "Arabic", "🇸🇦"),
    lang("hi", "hin", "Hindi", "🇮🇳"),
    lang("ca", "cat", "Catalan", "🏴"),
    lang("gl", "glg", "Galician", "🏴"),
    lang("eu", "baq", "Basque", "🏴"),
    lang("eo", "epo", "Esperanto", "🏳"),
    lang("nl", "dut", "Dutch", "🇳🇱"),
    lang("pl", "pol", "Polish", "🇵🇱"),
    lang("sv", "swe", "Swedish", "🇸🇪"),
    lang("tr", "tur", "Turkish", "🇹🇷"),
];

impl Language {
    /// Parses an ISO 639-1 code, case-insensitively and ignoring surrounding spaces.
    pub fn parse(code: &str) -> Result<Self, CoreError> {
        let wanted = code.trim().to_ascii_lowercase();
        KNOWN
            .iter()
            .find(|l| l.code == wanted)
            .copied()
            .ok_or_else(|| CoreError::UnknownLanguage(code.chars().take(32).collect()))
    }

    /// Every language Voxline knows, in a stable order.
    pub fn all() -> &'static [Language] {
        KNOWN
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code)
    }
}

impl Serialize for Language {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code)
    }
}

impl<'de> Deserialize<'de> for Language {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let code = String::deserialize(d)?;
        Language::parse(&code).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_codes_and_names_unknown_ones() {
        assert_eq!(Language::parse(" ES ").unwrap().iso639_2, "spa");
        let err = Language::parse("xx").unwrap_err();
        assert!(err.to_string().contains("`xx`"));
    }
}
