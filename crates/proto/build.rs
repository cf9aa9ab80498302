//! Generates the Rust types of `proto/` with protox (a protobuf compiler in
//! Rust), so building needs no system `protoc`.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = "../../proto";
    let files = ["voxline/v1/messages.proto"];
    for file in files {
        println!("cargo:rerun-if-changed={root}/{file}");
    }
    let descriptors = protox::compile(files, [root])?;
    prost_build::Config::new()
        // Queue messages travel as JSON through apalis; field names follow the schema.
        .type_attribute(".", "#[derive(serde::Serialize, serde::Deserialize)]")
        .type_attribute(".", "#[serde(default)]")
        .compile_fds(descriptors)?;
    Ok(())
}
