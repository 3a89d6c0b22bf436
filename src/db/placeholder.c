/* placeholder until the layer lands */
int sv__db_placeholder(void);
int sv__db_placeholder(void) { return 0; }
