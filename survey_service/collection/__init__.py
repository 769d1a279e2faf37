"""Collection: enterprises, campaigns, invitations, submissions, uploads and poll links."""
