//! The MCP servers' tools added to another `Executor`'s: built-in calls go to it, the servers'
//! tools are offered and called beside its own extras.

use std::sync::Arc;

use serde_json::Value;

use super::Mcp;
use crate::tools::{Call, Executor};

pub struct WithMcp {
    inner: Arc<dyn Executor>,
    mcp: Mcp,
}

impl WithMcp {
    /// `mcp` lives as long as this does: dropping it (a reload, shutdown) stops the servers.
    pub fn new(inner: Arc<dyn Executor>, mcp: Mcp) -> WithMcp {
        WithMcp { inner, mcp }
    }
}

impl Executor for WithMcp {
    fn run(&self, call: Call, lang: &str) -> Result<String, String> {
        self.inner.run(call, lang)
    }

    fn extra_tools(&self) -> Vec<Value> {
        let mut tools = self.inner.extra_tools();
        tools.extend(self.mcp.tools());
        tools
    }

    fn run_extra(&self, name: &str, arguments: &Value) -> Option<Result<String, String>> {
        self.inner
            .run_extra(name, arguments)
            .or_else(|| self.mcp.call(name, arguments))
    }
}
