//! The 15 client-area links (SPEC §4), their groups and icons, and how they are named in
//! cPanel. The rules for a submitted configuration live in `configuration`.

/// A link's group, which decides the `implements` value sent to cPanel (whm-api.md §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    Ordering,
    Support,
    Account,
}

impl Group {
    pub const ALL: [Group; 3] = [Group::Ordering, Group::Support, Group::Account];

    pub fn name(self) -> &'static str {
        match self {
            Group::Ordering => "Ordering",
            Group::Support => "Support",
            Group::Account => "Account",
        }
    }

    pub fn implements(self) -> &'static str {
        match self {
            Group::Ordering => "upgrade",
            Group::Support => "support",
            Group::Account => "billing",
        }
    }

    /// The icon file of the group's links, under `static/icons/` (drawn by
    /// `scripts/draw_icons.py`).
    pub fn icon_file(self) -> &'static str {
        match self {
            Group::Ordering => "ordering.png",
            Group::Support => "support.png",
            Group::Account => "account.png",
        }
    }

    /// The icon's PNG bytes, built into the binary so that workers need no files at run time.
    pub fn icon_png(self) -> &'static [u8] {
        match self {
            Group::Ordering => include_bytes!("../../static/icons/ordering.png"),
            Group::Support => include_bytes!("../../static/icons/support.png"),
            Group::Account => include_bytes!("../../static/icons/account.png"),
        }
    }
}

/// The `group_id` of applinks' own group in cPanel (whm-api.md §4): every link sits in it.
pub const CPANEL_GROUP_ID: &str = "applinks";
/// The group's label until an administrator sets another (WHMCS's wording).
pub const DEFAULT_GROUP_LABEL: &str = "Billing & Support";
/// The group's position among cPanel's groups.
pub const CPANEL_GROUP_ORDER: i64 = 1;

/// One of the links, as the table of SPEC §4 defines it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkDef {
    pub key: &'static str,
    pub default_label: &'static str,
    pub group: Group,
    /// Client-area path of the destination.
    pub path: &'static str,
}

const fn def(
    key: &'static str,
    default_label: &'static str,
    group: Group,
    path: &'static str,
) -> LinkDef {
    LinkDef {
        key,
        default_label,
        group,
        path,
    }
}

/// Every link, in the default order.
pub const LINKS: [LinkDef; 15] = [
    def(
        "upgrade",
        "Upgrade/Downgrade",
        Group::Ordering,
        "/client/upgrade",
    ),
    def(
        "addons",
        "View/Order Addons",
        Group::Ordering,
        "/client/addons",
    ),
    def(
        "domain_register",
        "Register New Domain",
        Group::Ordering,
        "/client/domains/register",
    ),
    def(
        "domain_transfer",
        "Transfer a Domain",
        Group::Ordering,
        "/client/domains/transfer",
    ),
    def(
        "ticket_open",
        "Open Ticket",
        Group::Support,
        "/client/tickets/new",
    ),
    def(
        "ticket_history",
        "View Ticket History",
        Group::Support,
        "/client/tickets",
    ),
    def(
        "announcements",
        "News & Announcements",
        Group::Support,
        "/client/announcements",
    ),
    def(
        "downloads",
        "Download Resources",
        Group::Support,
        "/client/downloads",
    ),
    def(
        "knowledgebase",
        "Search our Knowledgebase",
        Group::Support,
        "/client/knowledgebase",
    ),
    def(
        "network_status",
        "Check Network Status",
        Group::Support,
        "/client/network-status",
    ),
    def(
        "profile",
        "Manage Profile",
        Group::Account,
        "/client/profile",
    ),
    def(
        "billing_view",
        "View Billing Information",
        Group::Account,
        "/client/billing",
    ),
    def(
        "billing_manage",
        "Manage Billing Information",
        Group::Account,
        "/client/billing/edit",
    ),
    def(
        "email_history",
        "View Email History",
        Group::Account,
        "/client/emails",
    ),
    def(
        "invoice_history",
        "View Invoice History",
        Group::Account,
        "/client/invoices",
    ),
];

/// Prefix of every cPanel `app` name applinks owns; other apps are never touched.
pub const APP_PREFIX: &str = "applinks_";

pub fn find(key: &str) -> Option<&'static LinkDef> {
    LINKS.iter().find(|l| l.key == key)
}

/// The cPanel `app` name of a link, e.g. `applinks_ticket_open`.
pub fn cpanel_app(key: &str) -> String {
    format!("{APP_PREFIX}{key}")
}

/// The link key of a cPanel `app` name, if applinks owns it.
pub fn key_of_cpanel_app(app: &str) -> Option<&str> {
    app.strip_prefix(APP_PREFIX)
}

/// A link's saved setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkSetting {
    pub key: String,
    pub shown: bool,
    pub label: String,
    /// 1-based.
    pub position: i32,
}

impl LinkSetting {
    pub fn def(&self) -> Option<&'static LinkDef> {
        find(&self.key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_group_has_a_png_icon() {
        for group in Group::ALL {
            assert!(
                group.icon_png().starts_with(b"\x89PNG\r\n\x1a\n"),
                "{}",
                group.name()
            );
        }
    }
}
