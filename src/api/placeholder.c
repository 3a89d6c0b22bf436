/* placeholder until the layer lands */
int sv__api_placeholder(void);
int sv__api_placeholder(void) { return 0; }
