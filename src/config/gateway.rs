//! `billing-mcp gateway`'s own flags: the upstreams, their headers, names, what a customer sees
//! of tools its plan lacks, and the billing tools served beside the upstreams' tools.

use std::time::Duration;

use clap::{Args, ValueEnum};

use crate::mcp::gateway::{Locked, Options, UpstreamSpec};

/// The billing tools `--billing-tools` serves beside the upstreams' (the ones a customer uses).
pub const BILLING_TOOLS: [&str; 5] = [
    "check_entitlement",
    "get_usage",
    "get_credit_balance",
    "get_billing_status",
    "quote_price",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LockedArg {
    Show,
    Hide,
}

#[derive(Debug, Clone, Args)]
pub struct GatewayArgs {
    /// An upstream MCP server: NAME=COMMAND ARGS (a child process on stdio) or
    /// NAME=https://HOST/mcp (streamable HTTP). Repeat for several.
    #[arg(long = "upstream", value_name = "NAME=TARGET", required = true)]
    pub upstreams: Vec<String>,
    /// A header sent to an HTTP upstream (its own auth): NAME=HEADER: VALUE. Repeatable.
    #[arg(long = "upstream-header", value_name = "NAME=HEADER: VALUE")]
    pub headers: Vec<String>,
    /// Variables of the gateway's environment a child upstream gets beside PATH, HOME, locale and
    /// temporary directories: NAME=VAR[,VAR…]. Repeatable.
    #[arg(long = "upstream-env", value_name = "NAME=VARS")]
    pub env: Vec<String>,
    /// Name every tool NAME_TOOL (always so with several upstreams).
    #[arg(long)]
    pub prefix: bool,
    /// Tools the payer's plan lacks: listed and refused with the upgrade link, or hidden.
    #[arg(long, value_enum, default_value = "show")]
    pub locked_tools: LockedArg,
    /// Append what a call costs the caller to each upstream tool's description.
    #[arg(long)]
    pub describe_prices: bool,
    /// Also serve billing tools: all of check_entitlement, get_usage, get_credit_balance,
    /// get_billing_status, quote_price, or the ones listed (comma-separated).
    #[arg(long, value_delimiter = ',', num_args = 0.., value_name = "TOOLS")]
    pub billing_tools: Option<Vec<String>>,
    /// Who pays for calls not made with a customer key (the operator on stdio).
    #[arg(long, env = "BILLING_MCP_CUSTOMER")]
    pub customer: Option<String>,
    /// Seconds an upstream call may run before it is cancelled and its hold released; also how
    /// long one reading of an upstream's list may take.
    #[arg(long, default_value_t = 120)]
    pub upstream_timeout: u64,
}

impl GatewayArgs {
    /// The upstreams with their headers.
    pub fn specs(&self) -> Result<Vec<UpstreamSpec>, String> {
        let mut specs: Vec<UpstreamSpec> = self
            .upstreams
            .iter()
            .map(|u| UpstreamSpec::parse(u))
            .collect::<Result<_, _>>()?;
        for h in &self.headers {
            let bad = || format!("--upstream-header `{h}`: give NAME=Header: value");
            let (name, header) = h.split_once('=').ok_or_else(bad)?;
            let (key, value) = header.split_once(':').ok_or_else(bad)?;
            let spec = specs
                .iter_mut()
                .find(|s| s.name == name)
                .ok_or_else(|| format!("--upstream-header names no upstream `{name}`"))?;
            spec.headers
                .push((key.trim().to_string(), value.trim().to_string()));
        }
        for e in &self.env {
            let (name, vars) = e
                .split_once('=')
                .ok_or_else(|| format!("--upstream-env `{e}`: give NAME=VAR[,VAR…]"))?;
            let spec = specs
                .iter_mut()
                .find(|s| s.name == name)
                .ok_or_else(|| format!("--upstream-env names no upstream `{name}`"))?;
            spec.env.extend(
                vars.split(',')
                    .map(str::trim)
                    .filter(|v| !v.is_empty())
                    .map(String::from),
            );
        }
        let mut names: Vec<&str> = specs.iter().map(|s| s.name.as_str()).collect();
        names.sort_unstable();
        if names.windows(2).any(|w| w[0] == w[1]) {
            return Err("two --upstream share a NAME: give each its own".into());
        }
        Ok(specs)
    }

    pub fn options(&self) -> Options {
        Options {
            prefix: self.prefix,
            locked: match self.locked_tools {
                LockedArg::Show => Locked::Show,
                LockedArg::Hide => Locked::Hide,
            },
            describe_prices: self.describe_prices,
            customer: self.customer.clone(),
            timeout: Duration::from_secs(self.upstream_timeout.max(1)),
        }
    }

    /// The billing tools to serve beside the upstreams'.
    pub fn billing_tools(&self) -> Result<Vec<String>, String> {
        match &self.billing_tools {
            None => Ok(Vec::new()),
            Some(listed) if listed.is_empty() => {
                Ok(BILLING_TOOLS.iter().map(|s| s.to_string()).collect())
            }
            Some(listed) => {
                for t in listed {
                    if !BILLING_TOOLS.contains(&t.as_str()) {
                        return Err(format!(
                            "--billing-tools: `{t}` is not one of {}",
                            BILLING_TOOLS.join(", ")
                        ));
                    }
                }
                Ok(listed.clone())
            }
        }
    }
}
