-- wrk script for bench.polls: every request POSTs one poll answer as JSON.
-- The body (the answer document) is passed after "--" on wrk's command line, so the
-- Python bench stays the one place that says what a valid answer is. wrk keeps no
-- cookies, so the device cookie a 201 sets never makes a later request a 409.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

function init(args)
  wrk.body = args[1]
end
