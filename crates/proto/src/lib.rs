//! The messages between Voxline's services, generated from `proto/`
//! (package `voxline.v1`).

/// `voxline.v1`: the stage job each queue carries and the progress event.
pub mod v1 {
    include!(concat!(env!("OUT_DIR"), "/voxline.v1.rs"));
}
