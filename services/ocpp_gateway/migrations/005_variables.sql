CREATE TABLE variables (
    path TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
