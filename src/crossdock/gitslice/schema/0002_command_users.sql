-- Who may run /git-slice comment commands on a slice (forge logins); none: commands are off.
ALTER TABLE gitslice_slices ADD COLUMN command_users text[] NOT NULL DEFAULT '{}';
