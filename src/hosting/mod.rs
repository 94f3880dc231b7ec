//! Servers, clients and accounts as the admin pages and the command line manage them: form
//! validation (`forms`), saving servers with their encrypted credential and testing the
//! connection (`servers`), importing a server's accounts (`import`), deciding the client matches
//! an import left pending (`pending`), and the `applinks server` commands (`cli`). The pages and
//! the CLI call the same functions, so a rule holds for both.
//!
//! Sits between `web`/`startup` and `db`/`whm`; never imports `web`.

pub mod cli;
pub mod forms;
pub mod import;
pub mod pending;
pub mod servers;
