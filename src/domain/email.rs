//! E-mail addresses as applinks accepts them: typed into a form ([`parse_email`]) or listed by a
//! server's `listaccts` ([`listed_email`], whm-api.md §3). A missing address is `None`, never an
//! empty string, so "no e-mail" has one spelling from the wire to the database. No I/O here.

use crate::domain::server::parse_host;

/// A plausible e-mail address (`local@host.example`), trimmed, its domain lowercased.
/// Deliberately lenient about the local part, strict about the domain: the domain must be a
/// host name with a dot.
pub fn parse_email(input: &str) -> Option<String> {
    let email = input.trim();
    if email.len() > 254 || email.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return None;
    }
    let (local, domain) = email.rsplit_once('@')?;
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local.contains('@')
        && !local
            .chars()
            .any(|c| matches!(c, '<' | '>' | '(' | ')' | ',' | ';' | '"'));
    let domain_ok = domain.contains('.')
        && domain.parse::<std::net::IpAddr>().is_err()
        && parse_host(domain).is_some();
    (local_ok && domain_ok).then(|| format!("{local}@{}", domain.to_ascii_lowercase()))
}

/// The contact e-mail of an account as `listaccts` gives it. cPanel may list several
/// addresses (`"a@x.test, b@y.test"`): the first *usable* one counts, so a malformed first
/// entry does not cost the account the good address after it (and a usable first address is
/// always the one taken). `*unknown*`, an empty value or nothing usable: `None`.
pub fn listed_email(input: &str) -> Option<String> {
    input.split(',').find_map(parse_email)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_need_a_local_part_and_a_dotted_domain() {
        assert_eq!(
            parse_email(" Owner0001@Example.TEST "),
            Some("Owner0001@example.test".into())
        );
        for bad in [
            "",
            "owner",
            "owner@",
            "@example.com",
            "a b@example.com",
            "a@localhost",
            "a@1.2.3.4",
            "a@@b.com",
            "a@b.com, c@d.com",
            "a\u{0}@b.com",
        ] {
            assert_eq!(parse_email(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_listed_email_is_the_first_usable_address_of_the_list() {
        assert_eq!(listed_email("a@x.test, b@y.test"), Some("a@x.test".into()));
        assert_eq!(listed_email(" A@X.Test "), Some("A@x.test".into()));
        assert_eq!(listed_email("*unknown*, b@y.test"), Some("b@y.test".into()));
        assert_eq!(listed_email(",,b@y.test,"), Some("b@y.test".into()));
    }

    #[test]
    fn unknown_empty_or_unusable_listed_emails_are_none() {
        let long = format!("{}@example.test", "a".repeat(300));
        for none in [
            "",
            "   ",
            "*unknown*",
            "nobody",
            ", ,",
            "a@b\u{7}.test",
            &long,
        ] {
            assert_eq!(listed_email(none), None, "{none:?}");
        }
    }
}
