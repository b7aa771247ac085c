//! The dashboard's browser side, embedded in the binary: the renderer, stylesheet and vendored
//! libraries (`ui/`) that the web page (`/dashboard`, served by the transport) and the MCP App
//! share, and the MCP App itself (SEP-1865, extension `io.modelcontextprotocol/ui`): the
//! resource `ui://billing-mcp/dashboard`, one HTML document that loads nothing (its template's
//! `<!--INLINE:path-->` placeholders filled once, at first use), and the `_meta` that ties
//! `get_dashboard` to it.

use std::sync::LazyLock;

use rmcp::model::MetaObject;
use serde_json::json;

pub const DASHBOARD_URI: &str = "ui://billing-mcp/dashboard";
/// The MCP Apps resource type.
pub const APP_MIME: &str = "text/html;profile=mcp-app";

/// A file the dashboard serves: its path under `src/`, its bytes.
pub struct Asset {
    pub path: &'static str,
    pub text: &'static str,
}

macro_rules! asset {
    ($path:literal) => {
        Asset {
            path: $path,
            text: include_str!(concat!("../", $path)),
        }
    };
}

/// What the page and the App share, and what the App alone inlines.
pub const RENDER_JS: Asset = asset!("mcp/ui/render.js");
pub const DASHBOARD_CSS: Asset = asset!("mcp/ui/dashboard.css");
pub const UPLOT_JS: Asset = asset!("mcp/ui/vendor/uPlot.iife.min.js");
pub const UPLOT_CSS: Asset = asset!("mcp/ui/vendor/uPlot.min.css");
const EXT_APPS_JS: Asset = asset!("mcp/ui/vendor/ext-apps-app.iife.js");
const APP_JS: Asset = asset!("mcp/ui/app.js");
const TEMPLATE: &str = include_str!("ui/dashboard.html");
const INLINED: [Asset; 6] = [
    UPLOT_CSS,
    DASHBOARD_CSS,
    UPLOT_JS,
    RENDER_JS,
    EXT_APPS_JS,
    APP_JS,
];

/// The App's document, its template filled with the files it names.
pub fn dashboard_app() -> &'static str {
    static APP: LazyLock<String> = LazyLock::new(|| {
        INLINED.iter().fold(TEMPLATE.to_string(), |html, a| {
            html.replace(&format!("<!--INLINE:{}-->", a.path), a.text)
        })
    });
    &APP
}

fn meta(value: serde_json::Value) -> MetaObject {
    match value {
        serde_json::Value::Object(map) => MetaObject(map),
        _ => MetaObject::default(),
    }
}

/// `get_dashboard`'s `_meta`: its UI resource (the current key and the one hosts read before
/// it), for the model and the app alike.
pub fn tool_meta() -> MetaObject {
    meta(json!({
        "ui": {"resourceUri": DASHBOARD_URI, "visibility": ["model", "app"]},
        "ui/resourceUri": DASHBOARD_URI,
    }))
}

/// The resource's `_meta.ui`: it reaches no domain at all, and likes a border.
pub fn resource_meta() -> MetaObject {
    meta(json!({
        "ui": {"csp": {"connectDomains": [], "resourceDomains": []}, "prefersBorder": true},
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_app_is_one_document_with_every_placeholder_filled() {
        let html = dashboard_app();
        assert!(!html.contains("<!--INLINE:"), "a placeholder is left");
        for a in INLINED {
            assert!(
                TEMPLATE.contains(&format!("<!--INLINE:{}-->", a.path)),
                "{} is not in the template",
                a.path
            );
            // Inlined between <script> or <style> tags, a file must not close them.
            let lower = a.text.to_ascii_lowercase();
            assert!(
                !lower.contains("</script")
                    && !lower.contains("</style")
                    && !lower.contains("<!--"),
                "{} cannot be inlined as it is",
                a.path
            );
        }
        // Nothing is loaded from anywhere: no src= or href= to another document.
        assert!(!html.contains("src=\"http") && !html.contains("href=\"http"));
    }
}
