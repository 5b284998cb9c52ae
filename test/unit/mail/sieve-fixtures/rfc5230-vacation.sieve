require ["vacation", "variables"];
# RFC 5230 section 4.8 and 4.6 style: subject taken from the message, a handle, and :days.
if header :matches "subject" "*" {
  set "subj" "${1}";
}
vacation :days 23 :addresses ["tjs@example.edu", "ts4z@landru.example.edu"]
  :subject "Re: ${subj}" :handle "ran-away"
  "I'm away until October 19.  If it's an emergency, call 911, I guess." ;
