//! The queue's Lua scripts (`lua/`), each with the shared helpers of
//! `lua/common.lua` in front. Redis runs a script atomically: a delivery
//! is either wholly made or not at all.

use std::sync::LazyLock;

use redis::Script;

macro_rules! script {
    ($name:literal) => {
        LazyLock::new(|| {
            Script::new(concat!(
                include_str!("../lua/common.lua"),
                "\n",
                include_str!(concat!("../lua/", $name, ".lua"))
            ))
        })
    };
}

pub(crate) static PUSH: LazyLock<Script> = script!("push");
pub(crate) static FETCH: LazyLock<Script> = script!("fetch");
pub(crate) static ACK: LazyLock<Script> = script!("ack");
pub(crate) static NACK: LazyLock<Script> = script!("nack");
pub(crate) static LEAVE: LazyLock<Script> = script!("leave");
pub(crate) static BEAT: LazyLock<Script> = script!("beat");
pub(crate) static STATS: LazyLock<Script> = script!("stats");
