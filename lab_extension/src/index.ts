/** oh-my-agent's JupyterLab extension: JupyterLab set up for people who do not code. */

import { notebookFactory } from './factory';
import { koreanFont } from './fonts';
import { agentsLauncher } from './launcher';
import { phoneLayout, phoneWorkspace } from './phone';
import { claudePlaceholder } from './placeholder';
import { recipeAgent, shareAsRecipe } from './recipe_agent';

export default [notebookFactory, agentsLauncher, claudePlaceholder, phoneWorkspace, phoneLayout, koreanFont, recipeAgent, shareAsRecipe];
