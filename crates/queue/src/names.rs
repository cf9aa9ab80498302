use voxline_core::Stage;

/// The apalis queue of a stage under a namespace. Its pending list is the
/// Redis key `{queue}:active`, which autoscalers watch.
pub fn queue_name(namespace: &str, stage: Stage) -> String {
    format!("{namespace}:stage:{}", stage.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_names_are_explicit_and_namespaced() {
        assert_eq!(queue_name("voxline", Stage::Render), "voxline:stage:render");
    }
}
