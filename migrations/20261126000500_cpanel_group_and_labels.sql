-- Labels as cPanel accepts them, and applinks' own group in cPanel (whm-api.md §3, §4).

-- cPanel refuses a label containing a straight single quote (it writes labels into its
-- language strings). The form never lets one in now; turn any stored one into the
-- typographic apostrophe, then keep it out.
update app_links set label = replace(label, '''', '’'), updated_at = now()
where position('''' in label) > 0;
alter table app_links add constraint app_links_label_no_quote check (position('''' in label) = 0);

-- Each account gets a group `applinks` holding every link; its label is set per application.
alter table applications add column group_label text not null default 'Billing & Support'
    constraint applications_group_label_check
    check (length(btrim(group_label)) between 1 and 100 and position('''' in group_label) = 0);
