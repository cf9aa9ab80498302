-- A job's script, if it was given one.
SELECT format, segments FROM job_scripts WHERE job_id = $1
