/* placeholder until the layer lands */
int sv__http_placeholder(void);
int sv__http_placeholder(void) { return 0; }
