"""The Mobile Token's pages (issue 12): the token on the phone, its service worker and
manifest, and registration. Stubs until the phone change fills them."""
