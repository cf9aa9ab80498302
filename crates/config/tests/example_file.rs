//! The documented example settings file loads, so it cannot drift from the code.

use std::path::Path;

#[test]
fn the_example_file_loads() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/voxline.example.toml");
    let settings =
        voxline_config::Settings::load_from(Some(&path), Vec::new()).expect("example loads");
    assert_eq!(settings.runner.max_attempts, 4);
    assert_eq!(settings.engines.max_tempo, 1.3);
}
