/*
 * layercheck.c - links one layer's whole archive with only the layers below it.
 * If a layer calls upwards, the link of this program fails with an undefined symbol.
 * Layers checked (CMakeLists.txt): base, db, store, fhir, medcom (fhir and below),
 * auth, http, api.
 */
int main(void)
{
    return 0;
}
