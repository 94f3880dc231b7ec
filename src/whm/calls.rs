//! The typed WHM calls applinks makes one at a time (whm-api.md §3), each built by
//! [`Command`] and sent by [`ServerClient::call`]; many of them travel together in `batch`.

use secrecy::SecretString;
use serde::de::IgnoredAny;

use super::client::{ServerClient, WhmError};
use super::command::Command;
use super::types::{
    Account, CreateLink, GroupsData, LinksData, ListAcctsData, UserConfig, UserConfigData,
    VersionData,
};

impl ServerClient {
    /// `version`: e.g. `11.134.0.5`.
    pub async fn version(&self) -> Result<String, WhmError> {
        let data: VersionData = self.call(Command::version()).await?;
        Ok(data.version)
    }

    /// `listaccts`: every account of the server.
    pub async fn listaccts(&self) -> Result<Vec<Account>, WhmError> {
        let data: ListAcctsData = self.call(Command::listaccts()).await?;
        Ok(data.acct)
    }

    /// `create_integration_link`: creates the link, or replaces the one with the same `app`.
    /// Optional arguments that are empty are left out.
    pub async fn create_integration_link(&self, link: &CreateLink) -> Result<(), WhmError> {
        self.call::<IgnoredAny>(Command::create_integration_link(link))
            .await
            .map(drop)
    }

    /// `remove_integration_link`.
    pub async fn remove_integration_link(&self, user: &str, app: &str) -> Result<(), WhmError> {
        self.call::<IgnoredAny>(Command::remove_integration_link(user, app))
            .await
            .map(drop)
    }

    /// `list_integration_links`: the user's app names.
    pub async fn list_integration_links(&self, user: &str) -> Result<Vec<String>, WhmError> {
        let data: LinksData = self.call(Command::list_integration_links(user)).await?;
        Ok(data.apps())
    }

    /// `get_integration_link_user_config`: one link's stored user config (never its token),
    /// with `user` and `app` filled in from the arguments.
    pub async fn get_integration_link_user_config(
        &self,
        user: &str,
        app: &str,
    ) -> Result<UserConfig, WhmError> {
        let data: UserConfigData = self
            .call(Command::get_integration_link_user_config(user, app))
            .await?;
        Ok(UserConfig {
            app: app.to_string(),
            user: user.to_string(),
            ..data.userconfig
        })
    }

    /// `update_integration_link_token`: a new token without re-creating the link.
    pub async fn update_integration_link_token(
        &self,
        user: &str,
        app: &str,
        token: &SecretString,
    ) -> Result<(), WhmError> {
        self.call::<IgnoredAny>(Command::update_integration_link_token(user, app, token))
            .await
            .map(drop)
    }

    /// `create_integration_group`: creates the group, or replaces the one with the same id.
    /// An empty `label` is left out (cPanel then shows the id); `order` may be negative.
    pub async fn create_integration_group(
        &self,
        user: &str,
        group_id: &str,
        label: &str,
        order: i64,
    ) -> Result<(), WhmError> {
        let command = Command::create_integration_group(user, group_id, label, order);
        self.call::<IgnoredAny>(command).await.map(drop)
    }

    /// `list_integration_groups`: the user's group ids.
    pub async fn list_integration_groups(&self, user: &str) -> Result<Vec<String>, WhmError> {
        let data: GroupsData = self.call(Command::list_integration_groups(user)).await?;
        Ok(data.links.into_iter().map(|entry| entry.group).collect())
    }

    /// `remove_integration_group`.
    pub async fn remove_integration_group(
        &self,
        user: &str,
        group_id: &str,
    ) -> Result<(), WhmError> {
        self.call::<IgnoredAny>(Command::remove_integration_group(user, group_id))
            .await
            .map(drop)
    }

    /// `get_users_links`: the user's link services, as the server answers them (cPanel does
    /// not document the shape; the simulator answers `{IMPLEMENTS: [APP, …]}`).
    pub async fn get_users_links(&self, user: &str) -> Result<serde_json::Value, WhmError> {
        self.call(Command::get_users_links(user)).await
    }
}
