//! Servers, clients and accounts as the admin pages and the command line manage them: form
//! validation (`forms`), saving servers with their encrypted credential and testing the
//! connection (`servers`), importing a server's accounts (`import`), deciding the client matches
//! an import left pending (`pending`), and creating administrators (`admins`). The pages and
//! the command line (`cli`) call the same functions, so a rule holds for both.
//!
//! Sits between `web`/`cli` and `jobs`/`db`/`whm`; never imports `web` or `cli`.

pub mod admins;
pub mod forms;
pub mod import;
pub mod pending;
pub mod servers;
