//! TODO: the Ollama client
