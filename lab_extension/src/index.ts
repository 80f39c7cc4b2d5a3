/** oh-my-agent's JupyterLab extension: JupyterLab set up for people who do not code. */

import { agentCellTypes } from './cell_type';
import { notebookFactory } from './factory';
import { koreanFont } from './fonts';
import { languageChoice } from './language';
import { agentsLauncher } from './launcher';
import { phoneLayout, phoneWorkspace } from './phone';
import { claudePlaceholder } from './placeholder';
import { recipeAgent, shareAsRecipe } from './recipe_agent';

export default [
  notebookFactory, agentsLauncher, claudePlaceholder, phoneWorkspace, phoneLayout, koreanFont, agentCellTypes,
  languageChoice, recipeAgent, shareAsRecipe
];
