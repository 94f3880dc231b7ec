//! An application's link configuration as an administrator submits it (SPEC §4): the group
//! label, per link shown? and label, and the order; and the rules it must meet.

use std::collections::HashSet;

use super::links::{LINKS, LinkSetting, find};
use super::text::is_unprintable;

/// A configuration as submitted: the group's label, per link whether shown and its label,
/// and the order.
#[derive(Debug, Clone, Default)]
pub struct ConfigInput {
    /// The label of applinks' group in cPanel; `None` when the form did not send one.
    pub group_label: Option<String>,
    /// (key, shown, label) for every link the form sent.
    pub links: Vec<(String, bool, String)>,
    /// Keys in the order the admin arranged them.
    pub order: Vec<String>,
}

/// A validated configuration, saved as a whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Configuration {
    pub group_label: String,
    pub links: Vec<LinkSetting>,
}

/// Field errors of a configuration; `general` for errors not tied to one field.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfigErrors {
    pub general: Vec<String>,
    /// The group label's error.
    pub group_label: Option<String>,
    /// (link key, message)
    pub fields: Vec<(String, String)>,
}

impl ConfigErrors {
    pub fn is_empty(&self) -> bool {
        self.general.is_empty() && self.group_label.is_none() && self.fields.is_empty()
    }

    pub fn for_link(&self, key: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, m)| m.as_str())
    }
}

pub const MAX_LABEL_CHARS: usize = 100;

/// Why a label (a link's or the group's) cannot be used, if it cannot: 1–100 characters
/// after trimming, printable (no control characters), and no `'`, which cPanel refuses
/// because it writes labels into its language strings (whm-api.md §3).
pub fn label_problem(label: &str) -> Option<String> {
    let label = label.trim();
    let n = label.chars().count();
    if n == 0 {
        Some("Enter a display label.".into())
    } else if n > MAX_LABEL_CHARS {
        Some(format!(
            "A display label can be at most {MAX_LABEL_CHARS} characters (this one has {n})."
        ))
    } else if label.chars().any(is_unprintable) {
        Some(
            "A display label cannot contain control characters (such as tabs or line breaks)."
                .into(),
        )
    } else if label.contains('\'') {
        Some(
            "cPanel refuses labels that contain the straight apostrophe ': use the typographic apostrophe ’ instead (for example “Customer’s Area”)."
                .into(),
        )
    } else {
        None
    }
}

/// Validates a whole configuration: a usable group label, known keys only, each link exactly
/// once, usable labels ([`label_problem`]), and an order that is a complete permutation.
pub fn validate(input: &ConfigInput) -> Result<Configuration, ConfigErrors> {
    let mut errors = ConfigErrors::default();
    match &input.group_label {
        None => errors
            .general
            .push("The group label is missing from the form.".into()),
        Some(label) => errors.group_label = label_problem(label),
    }
    let mut seen = HashSet::new();
    for (key, _, label) in &input.links {
        if find(key).is_none() {
            errors.general.push(format!("Unknown link “{key}”."));
            continue;
        }
        if !seen.insert(key.as_str()) {
            errors
                .general
                .push(format!("The link “{key}” was sent twice."));
        }
        if let Some(problem) = label_problem(label) {
            errors.fields.push((key.clone(), problem));
        }
    }
    let missing: Vec<&str> = LINKS
        .iter()
        .map(|l| l.key)
        .filter(|k| !seen.contains(k))
        .collect();
    if !missing.is_empty() {
        errors.general.push(format!(
            "The configuration is incomplete: missing {}.",
            missing.join(", ")
        ));
    }
    let order_set: HashSet<&str> = input.order.iter().map(String::as_str).collect();
    let is_permutation = input.order.len() == LINKS.len()
        && order_set.len() == LINKS.len()
        && LINKS.iter().all(|l| order_set.contains(l.key));
    if !is_permutation {
        errors
            .general
            .push("The order must list every link exactly once.".into());
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let links = input
        .links
        .iter()
        .map(|(key, shown, label)| LinkSetting {
            key: key.clone(),
            shown: *shown,
            label: label.trim().to_string(),
            position: input
                .order
                .iter()
                .position(|k| k == key)
                .map_or(0, |p| p as i32 + 1),
        })
        .collect();
    Ok(Configuration {
        group_label: input
            .group_label
            .as_deref()
            .unwrap_or_default()
            .trim()
            .to_string(),
        links,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::links::DEFAULT_GROUP_LABEL;

    fn full() -> ConfigInput {
        ConfigInput {
            group_label: Some(DEFAULT_GROUP_LABEL.into()),
            links: LINKS
                .iter()
                .map(|l| (l.key.to_string(), true, l.default_label.to_string()))
                .collect(),
            order: LINKS.iter().rev().map(|l| l.key.to_string()).collect(),
        }
    }

    #[test]
    fn a_complete_configuration_is_accepted_with_positions_from_the_order() {
        let saved = validate(&full()).unwrap().links;
        assert_eq!(saved.len(), 15);
        let upgrade = saved.iter().find(|s| s.key == "upgrade").unwrap();
        assert_eq!(upgrade.position, 15);
        let invoices = saved.iter().find(|s| s.key == "invoice_history").unwrap();
        assert_eq!(invoices.position, 1);
    }

    #[test]
    fn empty_and_long_labels_unknown_keys_and_bad_orders_are_refused() {
        let mut input = full();
        input.links[0].2 = "   ".into();
        input.links[1].2 = "x".repeat(101);
        let errors = validate(&input).unwrap_err();
        assert_eq!(errors.for_link("upgrade"), Some("Enter a display label."));
        assert!(errors.for_link("addons").unwrap().contains("at most 100"));

        let mut input = full();
        input.links.push(("root_shell".into(), true, "x".into()));
        assert!(validate(&input).unwrap_err().general[0].contains("Unknown link"));

        let mut input = full();
        input.order.pop();
        assert!(!validate(&input).unwrap_err().general.is_empty());

        let mut input = full();
        input.order[0] = input.order[1].clone();
        assert!(!validate(&input).unwrap_err().general.is_empty());

        let mut input = full();
        input.links.pop();
        assert!(validate(&input).unwrap_err().general[0].contains("incomplete"));
    }

    #[test]
    fn a_label_of_exactly_100_characters_with_any_text_is_fine() {
        let mut input = full();
        input.links[0].2 = format!("  {}  ", "é<".repeat(50));
        let saved = validate(&input).unwrap().links;
        assert_eq!(saved[0].label.chars().count(), 100);
    }

    #[test]
    fn a_straight_apostrophe_is_refused_with_the_typographic_one_offered() {
        let mut input = full();
        input.links[0].2 = "Customer's Area".into();
        let errors = validate(&input).unwrap_err();
        let message = errors.for_link("upgrade").unwrap();
        assert!(message.contains("cPanel refuses"), "{message}");
        assert!(message.contains('’'), "{message}");

        let mut input = full();
        input.links[0].2 = "Customer’s Area".into();
        assert_eq!(validate(&input).unwrap().links[0].label, "Customer’s Area");
    }

    #[test]
    fn control_characters_and_a_bad_group_label_are_refused() {
        let mut input = full();
        input.links[1].2 = "Open\u{0}Ticket".into();
        input.group_label = Some("Billing's".into());
        let errors = validate(&input).unwrap_err();
        assert!(
            errors
                .for_link("addons")
                .unwrap()
                .contains("control characters")
        );
        assert!(errors.group_label.as_deref().unwrap().contains("’"));

        let mut input = full();
        input.group_label = None;
        assert!(!validate(&input).unwrap_err().general.is_empty());
        input.group_label = Some("  ".into());
        assert_eq!(
            validate(&input).unwrap_err().group_label.as_deref(),
            Some("Enter a display label.")
        );
    }
}
