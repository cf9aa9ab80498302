//! The command line every service binary shares: `--config FILE`, `--help`,
//! `--version`; everything else comes from the file and the environment.

use std::path::PathBuf;

use clap::{Arg, Command};

use crate::{ConfigError, Settings};

const AFTER_HELP: &str = "Settings: built-in defaults, then the --config file (TOML), then \
environment variables named VOXLINE__SECTION__KEY (for example \
VOXLINE__DATABASE__URL, VOXLINE__REDIS__URL, VOXLINE__STORAGE__BACKEND). \
config/voxline.example.toml lists every key with its default.";

/// Parses the command line of service `name` and loads its settings.
pub fn load_for(name: &'static str, about: &'static str) -> Result<Settings, ConfigError> {
    let matches = Command::new(name)
        .about(about)
        .version(env!("CARGO_PKG_VERSION"))
        .after_help(AFTER_HELP)
        .arg(
            Arg::new("config")
                .long("config")
                .short('c')
                .env("VOXLINE_CONFIG")
                .value_name("FILE")
                .value_parser(clap::value_parser!(PathBuf))
                .help("TOML settings file"),
        )
        .get_matches();
    Settings::load(matches.get_one::<PathBuf>("config").map(PathBuf::as_path))
}
