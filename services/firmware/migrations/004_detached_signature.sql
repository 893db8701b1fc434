-- the detached signature sent with the request (`detached.py`): checked over the downloaded
-- file before anything of it is installed, also when the job resumes after a restart
ALTER TABLE update_job ADD COLUMN signature TEXT;
