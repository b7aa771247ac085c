//! MCP prompts from `prompts/*.md`: YAML front matter (name, description, arguments) and a body
//! with `{{argument}}` placeholders. Compiled in, parsed and checked once at start.

use crate::core::text::quote;
use rmcp::model::{GetPromptResult, JsonObject, Prompt, PromptArgument, PromptMessage, Role};
use serde::Deserialize;
use serde_json::Value;

const SOURCES: &[(&str, &str)] = &[
    (
        "design_pricing",
        include_str!("../../prompts/design_pricing.md"),
    ),
    (
        "explain_bill",
        include_str!("../../prompts/explain_bill.md"),
    ),
    (
        "diagnose_denial",
        include_str!("../../prompts/diagnose_denial.md"),
    ),
    (
        "onboard_customer",
        include_str!("../../prompts/onboard_customer.md"),
    ),
];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FrontMatter {
    name: String,
    title: Option<String>,
    description: String,
    #[serde(default)]
    arguments: Vec<ArgSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ArgSpec {
    name: String,
    description: String,
    #[serde(default)]
    required: bool,
}

#[derive(Debug)]
struct Template {
    meta: FrontMatter,
    body: String,
}

#[derive(Debug)]
pub struct Prompts {
    templates: Vec<Template>,
}

impl Prompts {
    /// Parse the compiled-in prompt files; an error names the file.
    pub fn load() -> Result<Prompts, String> {
        let mut templates = Vec::new();
        for (file, text) in SOURCES {
            let rest = text.strip_prefix("---\n").ok_or_else(|| {
                format!("prompts/{file}.md: must start with a --- front matter line")
            })?;
            let (front, body) = rest
                .split_once("\n---\n")
                .ok_or_else(|| format!("prompts/{file}.md: front matter is not closed by ---"))?;
            let meta: FrontMatter =
                serde_norway::from_str(front).map_err(|e| format!("prompts/{file}.md: {e}"))?;
            if meta.name != *file {
                return Err(format!(
                    "prompts/{file}.md: name `{}` must equal the file name",
                    meta.name
                ));
            }
            templates.push(Template {
                meta,
                body: body.trim().to_string(),
            });
        }
        Ok(Prompts { templates })
    }

    pub fn list(&self) -> Vec<Prompt> {
        self.templates
            .iter()
            .map(|t| {
                let args = t
                    .meta
                    .arguments
                    .iter()
                    .map(|a| {
                        PromptArgument::new(&a.name)
                            .with_description(&a.description)
                            .with_required(a.required)
                    })
                    .collect();
                let p = Prompt::new(&t.meta.name, Some(&t.meta.description), Some(args));
                match &t.meta.title {
                    Some(title) => p.with_title(title),
                    None => p,
                }
            })
            .collect()
    }

    pub fn render(&self, name: &str, args: &JsonObject) -> Result<GetPromptResult, String> {
        let t = self
            .templates
            .iter()
            .find(|t| t.meta.name == name)
            .ok_or_else(|| format!("unknown prompt `{}`", quote(name)))?;
        let mut text = t.body.clone();
        for a in &t.meta.arguments {
            let value = match args.get(&a.name) {
                Some(Value::String(s)) => s.clone(),
                Some(other) => other.to_string(),
                None if a.required => {
                    return Err(format!(
                        "prompt `{name}` needs the argument `{}`: {}",
                        a.name, a.description
                    ));
                }
                None => String::new(),
            };
            text = text.replace(&format!("{{{{{}}}}}", a.name), &value);
        }
        Ok(
            GetPromptResult::new(vec![PromptMessage::new_text(Role::User, text)])
                .with_description(&t.meta.description),
        )
    }
}
