-- Follow-ups are fired by due time across tenants.
CREATE INDEX follow_ups_due_at ON follow_ups (due_at);
