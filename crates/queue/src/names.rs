use voxline_core::Stage;

/// The queue of a stage under a namespace: the prefix of all its keys,
/// braced so they share one Redis Cluster hash slot (`lua/common.lua`
/// lists them).
pub fn queue_name(namespace: &str, stage: Stage) -> String {
    format!("{{{namespace}:stage:{}}}", stage.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_names_are_explicit_namespaced_and_hash_tagged() {
        assert_eq!(
            queue_name("voxline", Stage::Render),
            "{voxline:stage:render}"
        );
    }
}
