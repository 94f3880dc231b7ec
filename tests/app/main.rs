mod whm_client;
mod whm_sim;
