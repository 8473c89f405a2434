//! `voicebox check` for the server: is Ollama reachable, and is the configured model there?

use crate::event::{Failure, FailureClass};

use super::Client;
use super::error::Context;
use super::wire::{Tags, Version};

/// What `check` found. `model` is `None` when the server could not be reached at all.
#[derive(Debug, Clone, PartialEq)]
pub struct Health {
    /// The server's version string.
    pub version: Result<String, Failure>,
    /// The model's full name as the server lists it.
    pub model: Option<Result<String, Failure>>,
}

/// Whether the model can call tools, as `/api/show` lists its capabilities.
#[derive(Debug, Clone, PartialEq)]
pub enum ToolSupport {
    Yes,
    No,
    /// The server lists no capabilities (Ollama before 0.6.4).
    Unknown,
}

impl Client {
    /// `GET /api/version` and `/api/tags`, one attempt each (a doctor reports, it does not retry).
    pub fn check(&self) -> Health {
        let cfg = self.config();
        let cx = |path| Context {
            url: self.url(),
            path,
            model: &cfg.model,
        };
        let version = self
            .get_json("/api/version")
            .map_err(|p| p.failure(&cx("/api/version")))
            .and_then(|b| {
                serde_json::from_slice::<Version>(&b)
                    .map(|v| v.version)
                    .map_err(|e| {
                        Failure::new(
                            FailureClass::BadReply,
                            format!(
                                "{}/api/version did not answer like Ollama ({e}); check ollama.url",
                                self.url()
                            ),
                        )
                    })
            });
        if matches!(&version, Err(f) if f.class == FailureClass::Unreachable) {
            return Health {
                version,
                model: None,
            };
        }
        let model = self
            .get_json("/api/tags")
            .map_err(|p| p.failure(&cx("/api/tags")))
            .and_then(|b| {
                serde_json::from_slice::<Tags>(&b).map_err(|e| {
                    Failure::new(
                        FailureClass::BadReply,
                        format!("{}/api/tags did not answer like Ollama ({e})", self.url()),
                    )
                })
            })
            .and_then(|tags| find_model(&cfg.model, &tags));
        Health {
            version,
            model: Some(model),
        }
    }
}

impl Client {
    /// `POST /api/show` for the configured model: does it list the `tools` capability?
    pub fn tool_support(&self) -> Result<ToolSupport, Failure> {
        let cfg = self.config();
        let body = serde_json::json!({ "model": cfg.model }).to_string();
        let cx = Context {
            url: self.url(),
            path: "/api/show",
            model: &cfg.model,
        };
        let bytes = self
            .post_json("/api/show", body.as_bytes())
            .map_err(|p| p.failure(&cx))?;
        let show: Show = serde_json::from_slice(&bytes).map_err(|e| {
            Failure::new(
                FailureClass::BadReply,
                format!("{}/api/show did not answer like Ollama ({e})", self.url()),
            )
        })?;
        Ok(match show.capabilities {
            None => ToolSupport::Unknown,
            Some(c) if c.iter().any(|c| c == "tools") => ToolSupport::Yes,
            Some(_) => ToolSupport::No,
        })
    }
}

/// `/api/show`'s reply: only the capabilities matter here.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct Show {
    capabilities: Option<Vec<String>>,
}

/// `llama3.2` means `llama3.2:latest`, as in Ollama itself.
pub fn normalise(name: &str) -> String {
    let last = name.rsplit('/').next().unwrap_or(name);
    if last.contains(':') {
        name.to_string()
    } else {
        format!("{name}:latest")
    }
}

fn find_model(wanted: &str, tags: &Tags) -> Result<String, Failure> {
    let want = normalise(wanted);
    let names: Vec<&str> = tags
        .models
        .iter()
        .flatten()
        .map(|m| m.name.as_str())
        .collect();
    let found = tags.models.iter().flatten().find(|m| {
        normalise(&m.name) == want || m.model.as_deref().is_some_and(|n| normalise(n) == want)
    });
    match found {
        Some(m) => Ok(m.name.clone()),
        None => {
            let has = if names.is_empty() {
                "it has no models".to_string()
            } else {
                format!("it has {}", names.join(", "))
            };
            Err(Failure::new(
                FailureClass::ModelMissing,
                format!(
                    "model '{wanted}' is not on the server ({has}); run `ollama pull {wanted}` on the server, or set ollama.model to one it has"
                ),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ollama::wire::TagModel;

    fn tags(names: &[&str]) -> Tags {
        Tags {
            models: Some(
                names
                    .iter()
                    .map(|n| TagModel {
                        name: n.to_string(),
                        model: None,
                    })
                    .collect(),
            ),
        }
    }

    #[test]
    fn names_normalise_to_latest() {
        let cases = [
            ("llama3.2", "llama3.2:latest"),
            ("llama3.2:1b", "llama3.2:1b"),
            ("hf.co/org/m", "hf.co/org/m:latest"),
            ("reg:5000/org/m", "reg:5000/org/m:latest"),
            ("reg:5000/org/m:q4", "reg:5000/org/m:q4"),
        ];
        for (a, b) in cases {
            assert_eq!(normalise(a), b);
        }
    }

    #[test]
    fn finds_or_lists() {
        let t = tags(&["deepseek-r1:latest", "llama3.2:latest"]);
        assert_eq!(find_model("llama3.2", &t).unwrap(), "llama3.2:latest");
        assert_eq!(
            find_model("llama3.2:latest", &t).unwrap(),
            "llama3.2:latest"
        );
        let miss = find_model("qwen3", &t).unwrap_err();
        assert_eq!(miss.class, FailureClass::ModelMissing);
        assert!(miss.message.contains("deepseek-r1:latest, llama3.2:latest"));
        assert!(miss.message.contains("ollama pull qwen3"));
        let none = find_model("qwen3", &Tags { models: None }).unwrap_err();
        assert!(none.message.contains("no models"));
    }
}
