//! The upstreams' prompts and resources, served beside the server's own. They are free: only tool
//! calls are billed. A prompt takes its upstream's name (`NAME_` before it when tools are
//! prefixed); a resource keeps its URI and is read from the upstream that lists it, or whose
//! template's fixed start the URI has. Each list is read at connect and again when the upstream
//! says it changed.

use std::sync::{PoisonError, RwLock};

use rmcp::model::{
    GetPromptRequestParams, GetPromptResponse, Prompt, ReadResourceRequestParams,
    ReadResourceResponse, Resource, ResourceTemplate,
};
use rmcp::service::Peer;
use rmcp::{ErrorData, RoleClient};

use super::Gateway;

/// What one upstream lists besides its tools.
#[derive(Default)]
pub struct Listings {
    prompts: RwLock<Vec<Prompt>>,
    resources: RwLock<Vec<Resource>>,
    templates: RwLock<Vec<ResourceTemplate>>,
}

/// Keep `new` in `kept`; whether it differs from what was kept.
pub(super) fn replace<T: PartialEq>(kept: &RwLock<Vec<T>>, new: Vec<T>) -> bool {
    let mut kept = kept.write().unwrap_or_else(PoisonError::into_inner);
    let changed = *kept != new;
    *kept = new;
    changed
}

impl Listings {
    /// Read the prompts again (none when the upstream no longer serves prompts); whether they
    /// changed.
    pub async fn reload_prompts(&self, peer: &Peer<RoleClient>) -> bool {
        if peer
            .peer_info()
            .is_none_or(|i| i.capabilities.prompts.is_none())
        {
            return replace(&self.prompts, Vec::new());
        }
        match peer.list_all_prompts().await {
            Ok(p) => replace(&self.prompts, p),
            Err(e) => {
                tracing::warn!(error = %e, "an upstream's prompts could not be read");
                false
            }
        }
    }

    /// Read the resources and templates again (none when the upstream no longer serves
    /// resources); whether they changed. Both are read before either is kept, so a reading
    /// dropped halfway (its timeout) keeps neither, and the next one still sees the change.
    pub async fn reload_resources(&self, peer: &Peer<RoleClient>) -> bool {
        if peer
            .peer_info()
            .is_none_or(|i| i.capabilities.resources.is_none())
        {
            let resources = replace(&self.resources, Vec::new());
            return replace(&self.templates, Vec::new()) || resources;
        }
        let (resources, templates) = (
            peer.list_all_resources().await,
            peer.list_all_resource_templates().await,
        );
        let resources = match resources {
            Ok(r) => replace(&self.resources, r),
            Err(e) => {
                tracing::warn!(error = %e, "an upstream's resources could not be read");
                false
            }
        };
        let templates = match templates {
            Ok(t) => replace(&self.templates, t),
            Err(e) => {
                tracing::warn!(error = %e, "an upstream's resource templates could not be read");
                false
            }
        };
        resources || templates
    }

    fn prompt(&self, name: &str) -> bool {
        self.prompts
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .any(|p| p.name == name)
    }

    /// Whether this upstream lists `uri` (or a template it matches).
    fn holds(&self, uri: &str) -> bool {
        self.resources
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .any(|r| r.uri == uri)
            || self
                .templates
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .iter()
                .any(|t| {
                    let fixed = t.uri_template.split('{').next().unwrap_or_default();
                    !fixed.is_empty() && uri.starts_with(fixed)
                })
    }
}

fn lost(name: &str, e: &rmcp::ServiceError) -> ErrorData {
    match e {
        rmcp::ServiceError::McpError(e) => e.clone(),
        e => ErrorData::internal_error(format!("upstream `{name}` did not answer: {e}"), None),
    }
}

impl Gateway {
    /// Every upstream's prompts, under the names clients see.
    pub fn prompts(&self) -> Vec<Prompt> {
        let mut out = Vec::new();
        for up in &self.upstreams {
            for mut p in up
                .relay
                .listings
                .prompts
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .iter()
                .cloned()
            {
                p.name = self.served_name(up, &p.name);
                out.push(p);
            }
        }
        out
    }

    /// Get an upstream's prompt; `None` when no upstream serves `params.name`.
    pub async fn get_prompt(
        &self,
        mut params: GetPromptRequestParams,
    ) -> Option<Result<GetPromptResponse, ErrorData>> {
        let (up, name) = self.upstreams.iter().find_map(|u| {
            let name = if self.prefixed {
                params.name.strip_prefix(&u.name)?.strip_prefix('_')?
            } else {
                &params.name
            };
            u.relay.listings.prompt(name).then(|| (u, name.to_string()))
        })?;
        params.name = name;
        Some(
            up.peer()
                .get_prompt_once(params)
                .await
                .map_err(|e| lost(&up.name, &e)),
        )
    }

    pub fn resources(&self) -> Vec<Resource> {
        self.upstreams
            .iter()
            .flat_map(|u| {
                u.relay
                    .listings
                    .resources
                    .read()
                    .unwrap_or_else(PoisonError::into_inner)
                    .clone()
            })
            .collect()
    }

    pub fn resource_templates(&self) -> Vec<ResourceTemplate> {
        self.upstreams
            .iter()
            .flat_map(|u| {
                u.relay
                    .listings
                    .templates
                    .read()
                    .unwrap_or_else(PoisonError::into_inner)
                    .clone()
            })
            .collect()
    }

    /// Read an upstream's resource; `None` when no upstream lists `params.uri`.
    pub async fn read_resource(
        &self,
        params: ReadResourceRequestParams,
    ) -> Option<Result<ReadResourceResponse, ErrorData>> {
        let up = self
            .upstreams
            .iter()
            .find(|u| u.relay.listings.holds(&params.uri))?;
        Some(
            up.peer()
                .read_resource_once(params)
                .await
                .map_err(|e| lost(&up.name, &e)),
        )
    }
}
