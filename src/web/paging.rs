//! Pagination of list pages (`?page=N`, [`Pager`]) and search (`?q=TEXT`, [`Listing`]): a
//! page of rows at a time, so a list of 50,000 clients is as quick to show as one of ten.

use serde::Deserialize;

use crate::domain::text::is_unprintable;

/// Rows on one page of a searchable list.
pub const PAGE_SIZE: i64 = 100;
/// Pages beyond this are not offered (no list here is that long).
const MAX_PAGE: i64 = 100_000;
/// A search longer than this is cut (no name is longer).
const MAX_SEARCH_CHARS: usize = 100;

/// The query string of a list page, as sent: anything unusable reads as "first page, no
/// search", never as an error.
#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    page: Option<String>,
    #[serde(default)]
    q: Option<String>,
}

/// Which page of a list to show (1-based), and whether another follows once read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pager {
    pub page: i64,
    size: i64,
    /// Whether a page follows this one (set by [`Self::take`]).
    pub more: bool,
}

impl Pager {
    /// Reads `?page=`: anything unusable reads as the first page.
    pub fn parse(raw: Option<&str>, size: i64) -> Self {
        let page = raw
            .and_then(|p| p.trim().parse::<i64>().ok())
            .unwrap_or(1)
            .clamp(1, MAX_PAGE);
        Self {
            page,
            size,
            more: false,
        }
    }

    /// Rows to ask the database for: one more than a page tells whether another follows.
    pub fn limit(&self) -> i64 {
        self.size + 1
    }

    pub fn offset(&self) -> i64 {
        (self.page - 1) * self.size
    }

    /// Keeps a page of `rows` (read with [`Self::limit`]) and notes whether more follow.
    pub fn take<T>(&mut self, mut rows: Vec<T>) -> Vec<T> {
        self.more = rows.len() as i64 > self.size;
        rows.truncate(self.size as usize);
        rows
    }

    /// The page before, if there is one.
    pub fn previous_page(&self) -> Option<i64> {
        (self.page > 1).then(|| self.page - 1)
    }

    /// The page after, if there is one.
    pub fn next_page(&self) -> Option<i64> {
        self.more.then(|| self.page + 1)
    }
}

/// A page of a searchable list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing {
    pub pager: Pager,
    /// Trimmed, printable; empty for none.
    pub search: String,
}

impl ListQuery {
    pub fn listing(&self) -> Listing {
        let search: String = self
            .q
            .as_deref()
            .unwrap_or_default()
            .chars()
            .filter(|c| !is_unprintable(*c))
            .take(MAX_SEARCH_CHARS)
            .collect();
        Listing {
            pager: Pager::parse(self.page.as_deref(), PAGE_SIZE),
            search: search.trim().to_string(),
        }
    }
}

impl Listing {
    /// The search for a query, `None` when there is none.
    pub fn search(&self) -> Option<&str> {
        Some(self.search.as_str()).filter(|s| !s.is_empty())
    }

    /// The query string of the page before, if there is one.
    pub fn previous(&self) -> Option<String> {
        self.pager.previous_page().map(|page| self.query(page))
    }

    /// The query string of the page after, if there is one.
    pub fn next(&self) -> Option<String> {
        self.pager.next_page().map(|page| self.query(page))
    }

    fn query(&self, page: i64) -> String {
        match self.search() {
            Some(search) => {
                let q: String = form_urlencoded::byte_serialize(search.as_bytes()).collect();
                format!("?q={q}&page={page}")
            }
            None => format!("?page={page}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listing(page: Option<&str>, q: Option<&str>) -> Listing {
        ListQuery {
            page: page.map(str::to_string),
            q: q.map(str::to_string),
        }
        .listing()
    }

    #[test]
    fn odd_pages_and_searches_read_as_something_sensible() {
        assert_eq!(listing(Some("0"), None).pager.page, 1);
        assert_eq!(listing(Some("-3"), None).pager.page, 1);
        assert_eq!(listing(Some("abc"), None).pager.page, 1);
        assert_eq!(listing(Some("99999999999999999999"), None).pager.page, 1);
        assert_eq!(listing(Some(" 3 "), None).pager.offset(), 200);
        assert_eq!(listing(None, Some(" a\u{0}b ")).search, "ab");
        assert_eq!(listing(None, Some("   ")).search(), None);
        let mut l = listing(Some("2"), Some("a&b"));
        l.pager.take((0..101).collect::<Vec<_>>());
        assert_eq!(l.next().as_deref(), Some("?q=a%26b&page=3"));
        assert_eq!(l.previous().as_deref(), Some("?q=a%26b&page=1"));
    }
}
