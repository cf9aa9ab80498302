use voxline_core::Stage;

/// The apalis queue of a stage under a namespace. apalis-redis keeps its
/// messages in the sorted set `{queue}:scheduled` (every push lands there,
/// due or not) and the list `{queue}:active` (due, fetched by a worker):
/// autoscalers watch both (deploy/k8s).
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
