//! Resolves which provider and which state folder a command uses.

use miette::{IntoDiagnostic, miette};
use std::path::Path;

use crate::cli::GlobalArgs;
use crate::djamo::{ApiToken, Client, ClientConfig};
use crate::sandbox::SandboxHandle;
use crate::state::{SledStore, StateError};

/// A connected provider. It keeps the embedded sandbox alive while the command runs.
pub struct Provider {
    pub client: Client,
    _sandbox: Option<SandboxHandle>,
}

impl Provider {
    /// Stops the embedded sandbox, if any, after its requests in flight and a final flush of
    /// its ledger. Dropping a `Provider` stops it too, without waiting for that flush.
    pub async fn close(self) {
        if let Some(sandbox) = self._sandbox {
            sandbox.stop().await;
        }
    }
}

/// Connects to the provider that the global options select.
pub async fn connect(global: &GlobalArgs) -> miette::Result<Provider> {
    if global.sandbox {
        if let Some(url) = &global.api_url {
            tracing::warn!(%url, "`--sandbox` is set, so the provider URL from `--api-url` or `DJAMO_API_URL` is ignored");
        }
        let (handle, token) = crate::sandbox::start_embedded(&global.state_dir)
            .await
            .map_err(|e| miette!(help = "check that the state folder is writable", "{e}"))?;
        let mut config = ClientConfig::new(handle.base_url(), token);
        config.company_id = global.company_id.clone();
        let client = Client::new(config).map_err(|e| miette!("{e}"))?;
        return Ok(Provider {
            client,
            _sandbox: Some(handle),
        });
    }

    let Some(url) = global.api_url.clone() else {
        return Err(miette!(
            help = "pass `--sandbox` to use the embedded simulator, or `--api-url URL` (or set \
                    `DJAMO_API_URL`) to reach the Djamo API",
            "no provider selected"
        ));
    };
    let token = read_token(global.api_token_file.as_deref())?;
    let mut config = ClientConfig::new(url.trim_end_matches('/').to_owned(), token);
    config.company_id = global.company_id.clone();
    let client = Client::new(config).map_err(|e| miette!("{e}"))?;
    Ok(Provider {
        client,
        _sandbox: None,
    })
}

fn read_token(file: Option<&Path>) -> miette::Result<ApiToken> {
    if let Some(path) = file {
        let text = std::fs::read_to_string(path)
            .into_diagnostic()
            .map_err(|e| {
                miette!(
                    help = "check the path given to `--api-token-file`",
                    "could not read token file `{}`: {e}",
                    path.display()
                )
            })?;
        let token = text.lines().next().unwrap_or("").trim();
        if token.is_empty() {
            return Err(miette!(
                help = "write the API token on the file's first line",
                "token file `{}` is empty",
                path.display()
            ));
        }
        return Ok(ApiToken::new(token));
    }
    match std::env::var("DJAMO_API_TOKEN") {
        Ok(token) if !token.trim().is_empty() => Ok(ApiToken::new(token.trim())),
        _ => Err(miette!(
            help = "set `DJAMO_API_TOKEN`, or pass `--api-token-file PATH`; the token is never \
                    accepted as a plain flag",
            "no API token"
        )),
    }
}

/// Opens the state folder, holding its lock until the store is dropped.
pub fn open_state(global: &GlobalArgs) -> miette::Result<SledStore> {
    SledStore::open(&global.state_dir).map_err(state_report)
}

/// Turns a state error into a report that says what to do.
pub fn state_report(error: StateError) -> miette::Report {
    let help = error.help();
    miette!(help = help, "{error}")
}
